import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/api.js';
import { REPO_ROOT, run } from '../helpers/cli.js';
import { DedicatedTemporal, isHealthy } from '../helpers/dedicated-temporal.js';
import { sqliteFormatVersions } from '../helpers/sqlite.js';

const pidfile = path.join(REPO_ROOT, '.data/temporal.pid');
const postmasterPid = () => readFileSync(path.join(REPO_ROOT, '.data/pg/postmaster.pid'), 'utf8').split('\n')[0];

test('stack:up is idempotent: a second run starts nothing new', async () => {
  const before = { temporal: readFileSync(pidfile, 'utf8').trim(), postgres: postmasterPid() };
  const result = await run('bash', ['scripts/stack/up.sh']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /npm packages up to date/);
  assert.match(result.stdout, /Temporal CLI v1\.5\.1 present/);
  assert.match(result.stdout, /pgvector 0\.8\.\d+ already installed/);
  assert.match(result.stdout, /code-block parsers present/);
  assert.match(result.stdout, /PostgreSQL 15 already running on 127\.0\.0\.1:55432/);
  assert.match(result.stdout, /Temporal dev server already running \(pid \d+\)/);
  assert.match(result.stdout, /schema up to date/);
  assert.doesNotMatch(result.stdout, /starting|initializing|building/);
  assert.deepEqual({ temporal: readFileSync(pidfile, 'utf8').trim(), postgres: postmasterPid() }, before);
});

test("the project's Temporal dev server keeps its SQLite file in WAL mode", async () => {
  assert.deepEqual(await sqliteFormatVersions(path.join(REPO_ROOT, '.data/temporal.db')), [2, 2], 'format versions 2 = WAL, 1 = rollback journal');
});

test('a Temporal dev server the project started with other arguments is restarted with this checkout\'s', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ct-stack-'));
  const [port, uiPort] = [await freePort(), await freePort()];
  const dbFile = path.join(dataDir, 'temporal.db');
  // An older checkout's server: no SQLite settings, recorded as the one this project started.
  const old = new DedicatedTemporal(port, uiPort, dbFile, { wal: false });
  const pidfileHere = path.join(dataDir, 'temporal.pid');
  const pidNow = () => Number(readFileSync(pidfileHere, 'utf8'));
  t.after(async () => {
    await old.stop();
    try {
      process.kill(pidNow(), 'SIGKILL');
    } catch {
      // Never started, or already gone.
    }
    rmSync(dataDir, { recursive: true, force: true });
  });
  await old.start();
  writeFileSync(pidfileHere, `${old.pid}\n`);
  assert.deepEqual(await sqliteFormatVersions(dbFile), [1, 1], 'the old server keeps a rollback journal');

  const env = { STACK_DATA_DIR: dataDir, TEMPORAL_PORT: String(port), TEMPORAL_UI_PORT: String(uiPort) };
  const restarted = await run('bash', ['scripts/stack/ensure-temporal-server.sh'], env);
  assert.equal(restarted.code, 0, restarted.stderr);
  assert.match(restarted.stdout, new RegExp(`settings changed; restarting the Temporal dev server \\(pid ${old.pid}\\)`));
  assert.notEqual(pidNow(), old.pid);
  assert.match(readFileSync(`/proc/${pidNow()}/cmdline`, 'utf8'), /journal_mode=wal/);
  assert.equal(await isHealthy(`127.0.0.1:${port}`), true);
  assert.deepEqual(await sqliteFormatVersions(dbFile), [2, 2], 'the same file, now in WAL mode');

  const again = await run('bash', ['scripts/stack/ensure-temporal-server.sh'], env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`Temporal dev server already running \\(pid ${pidNow()}\\)`));
});
