import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CONFIG_ENV_NAMES, loadConfig } from '../../../src/config.js';
import { REPO_ROOT } from '../../helpers/cli.js';

interface Service {
  image?: string;
  build?: string;
  command?: string | string[];
  environment?: Record<string, string>;
  ports?: string[];
  shm_size?: string;
  depends_on?: Record<string, { condition: string }>;
}

// No Docker engine runs here, so the compose file is checked against the config module instead.
const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

function bytes(size: string): number {
  const m = /^(\d+)\s*([kmg]?)b?$/i.exec(size.trim());
  assert.ok(m, `size "${size}"`);
  return Number(m[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
}

test('the compose stack has the services DESIGN.md names', () => {
  assert.deepEqual(Object.keys(services).sort(), ['api', 'migrate', 'postgres', 'redis', 'temporal', 'worker']);
  assert.match(services.postgres!.image!, /^pgvector\/pgvector:0\.8\.\d+-pg15$/);
  assert.match(services.redis!.image!, /^redis:7/);
  assert.match(services.temporal!.image!, /^temporalio\/temporal/);
  assert.deepEqual((services.temporal!.command as string[]).slice(0, 4), ['server', 'start-dev', '--ip', '0.0.0.0']);
});

test('app services use only variables the config module knows, and the config accepts their values', () => {
  for (const name of ['worker', 'api', 'migrate']) {
    const env = services[name]!.environment!;
    const unknown = Object.keys(env).filter((k) => !CONFIG_ENV_NAMES.includes(k));
    assert.deepEqual(unknown, [], `${name} sets variables src/config.ts does not read`);
    const config = loadConfig(env);
    assert.equal(new URL(config.databaseUrl).hostname, 'postgres');
    assert.equal(new URL(config.redisUrl).hostname, 'redis');
    assert.equal(config.temporal.address, 'temporal:7233');
  }
});

test('ports match the config defaults and the local stack', () => {
  const defaults = loadConfig({});
  assert.ok(services.api!.ports!.includes(`${defaults.api.port}:${defaults.api.port}`));
  assert.ok(services.temporal!.ports!.includes(`${defaults.temporal.address.split(':')[1]}:7233`));
  assert.ok(services.temporal!.ports!.includes(`${new URL(defaults.temporal.uiUrl).port}:8233`));
  assert.ok(services.redis!.ports!.includes(`${new URL(defaults.redisUrl).port}:6379`));
  assert.ok(services.postgres!.ports!.includes(`${new URL(defaults.databaseUrl).port}:5432`), 'host port matches the default DATABASE_URL');
  assert.deepEqual(services.temporal!.command, [
    'server', 'start-dev', '--ip', '0.0.0.0', '--db-filename', '/data/temporal.db',
    '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal', '--ui-port', '8233',
    '--search-attribute', 'ReadinessStage=Keyword', '--search-attribute', 'ReadinessPct=Int',
  ]);
});

test('postgres memory: shm above maintenance_work_mem, shared_buffers holds the 100K index', () => {
  const pg = services.postgres!;
  const command = String(pg.command);
  const setting = (name: string) => bytes(new RegExp(`${name}=(\\S+)`).exec(command)![1]!);
  assert.ok(bytes(pg.shm_size!) > setting('maintenance_work_mem'));
  assert.ok(setting('shared_buffers') >= 800 * 1024 ** 2);
  assert.ok(setting('maintenance_work_mem') >= 1024 ** 3);
});

test('the worker and API wait for healthy dependencies and a finished migration', () => {
  for (const name of ['worker', 'api']) {
    assert.equal(services[name]!.depends_on!.migrate!.condition, 'service_completed_successfully');
    assert.equal(services[name]!.depends_on!.redis!.condition, 'service_healthy');
  }
  assert.equal(services.worker!.depends_on!.temporal!.condition, 'service_healthy');
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  assert.match(dockerfile, /^FROM node:24/m);
});
