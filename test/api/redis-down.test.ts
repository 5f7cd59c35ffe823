import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../../src/activities/deps.js';
import { createRateLimitActivities } from '../../src/activities/rate-limit.js';
import { HttpTargetError, runHttpLoad } from '../../src/benchmark/http-load.js';
import { generateApiKey, hashApiKey } from '../../src/api/auth.js';
import { ApiClient } from '../../src/api/api-client.js';
import { createLogger } from '../../src/logger.js';
import { baseConfig, uniqueName } from '../helpers/config.js';
import { closeTestPool, testPool, waitFor } from '../helpers/db.js';
import { configWithLimits, deleteUsersWithPrefix, freePort, startTestApi } from '../helpers/api.js';

const PREFIX = uniqueName('redis-down');

after(async () => {
  await deleteUsersWithPrefix(PREFIX);
  await closeTestPool();
});

function failures(metrics: string, mode: 'open' | 'closed'): number {
  return Number(new RegExp(`^commontrace_ratelimit_failures_total\\{bucket="read",mode="${mode}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
}

/** A throwaway redis-server this test owns, so stopping it disturbs nobody else. */
async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'ct-redis-'));
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(() => portOpen(port), 10_000, 'redis-server to listen');
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

test('fail-open: when Redis stops, requests pass, the failure metric counts them and one warning is logged', async () => {
  const redis = await startRedis();
  const logs: string[] = [];
  const config = { ...configWithLimits({ readPerMinute: 2, failMode: 'open' }), redisUrl: redis.url };
  // The API makes its own Redis client here (no offline queue), exactly as `npm run cli -- api` does.
  const api = await startTestApi(config, { deps: { pool: testPool() }, logger: createLogger({ level: 'warn', format: 'json' }, { write: (line: string) => logs.push(line) }) });
  try {
    const client = new ApiClient(api.url);
    const user = await client.register(`${PREFIX}-open@commontrace.invalid`);
    assert.deepEqual([(await client.search(user.apiKey, 'docker')).status, (await client.search(user.apiKey, 'docker')).status, (await client.search(user.apiKey, 'docker')).status], [200, 200, 429], 'the limiter works while Redis is up');

    await redis.stop();
    const during = await Promise.all(Array.from({ length: 4 }, () => client.search(user.apiKey, 'docker')));
    assert.deepEqual(during.map((r) => r.status), [200, 200, 200, 200], 'fail-open lets requests through');
    assert.equal(during[0]!.rateLimit, null, 'no bucket state to report while the limiter is down');
    assert.equal(during[0]!.rateLimitPolicy, '"read";q=2;w=60');

    const metrics = String((await client.request('GET', '/metrics')).body);
    assert.equal(failures(metrics, 'open'), 4);
    assert.equal(failures(metrics, 'closed'), 0);
    const warnings = logs.filter((l) => l.includes('rate limiter unavailable'));
    assert.equal(warnings.length, 1, `one throttled warning, got ${warnings.length}`);
    assert.match(warnings[0]!, /failing open/);

    // Registration (limited per client address) fails open the same way.
    await client.register(`${PREFIX}-open-late@commontrace.invalid`);
    assert.match(String((await client.request('GET', '/metrics')).body), /^commontrace_ratelimit_failures_total\{bucket="register",mode="open"\} 1$/m);

    const health = await client.health();
    assert.equal(health.status, 200);
    assert.deepEqual({ status: health.body?.status, redis: health.body?.redis }, { status: 'degraded', redis: 'down' });
  } finally {
    await api.close();
    await redis.stop().catch(() => undefined);
  }
});

test('fail-closed: with Redis unreachable, limited routes (registration too) answer 503 and the metric counts it', async () => {
  const config = { ...configWithLimits({ failMode: 'closed' }), redisUrl: `redis://127.0.0.1:${await freePort()}` };
  const api = await startTestApi(config, { deps: { pool: testPool() } });
  try {
    const client = new ApiClient(api.url);
    // Registering is limited too, so it is refused as well: the user is made in the database instead.
    const apiKey = generateApiKey();
    await testPool().query('INSERT INTO users (email, api_key_hash) VALUES ($1, $2)', [`${PREFIX}-closed@commontrace.invalid`, hashApiKey(apiKey)]);
    const refused = await client.request('POST', '/api/v1/auth/register', { body: { email: `${PREFIX}-closed-2@commontrace.invalid` } });
    assert.equal(refused.status, 503);
    assert.equal((refused.body as { error: string }).error, 'rate_limiter_unavailable');
    const res = await client.search(apiKey, 'docker');
    assert.equal(res.status, 503);
    assert.equal(res.retryAfter, '1');
    assert.equal((res.body as { error: string }).error, 'rate_limiter_unavailable');
    assert.equal((await client.contribute(apiKey, { title: 'Refused while Redis is down', context: 'c', solution: 's' })).status, 503);

    const metrics = String((await client.request('GET', '/metrics')).body);
    assert.equal(failures(metrics, 'closed'), 1);
    assert.match(metrics, /^commontrace_ratelimit_failures_total\{bucket="write",mode="closed"\} 1$/m);
    assert.match(metrics, /^commontrace_ratelimit_failures_total\{bucket="register",mode="closed"\} 1$/m);
    assert.equal((await client.health()).status, 503, 'a fail-closed API without Redis is not serving');
  } finally {
    await api.close();
  }
});

test('a fail-closed API without Redis is degraded, not foreign: the rate-limit probe and the HTTP load leave it to their retry policy', async () => {
  const config = { ...configWithLimits({ failMode: 'closed' }), redisUrl: `redis://127.0.0.1:${await freePort()}` };
  const api = await startTestApi(config, { deps: { pool: testPool() } });
  // The probe itself uses no Redis: the activities only need a client to be built (it never connects).
  const redis = new Redis(baseConfig.redisUrl, { lazyConnect: true });
  try {
    const health = await new ApiClient(api.url).health();
    assert.deepEqual({ status: health.status, service: health.body?.service, redis: health.body?.redis }, { status: 503, service: 'commontrace-api', redis: 'down' });

    const probe = createRateLimitActivities({ redis } as ActivityDeps).probeRateLimitApi;
    await assert.rejects(new MockActivityEnvironment().run(probe, { baseUrl: api.url }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.deepEqual({ type: err.type, nonRetryable: err.nonRetryable }, { type: 'ApiDegraded', nonRetryable: false });
      assert.match(err.message, /is degraded \(database ok, redis down\)/);
      return true;
    });
    await assert.rejects(
      runHttpLoad({ baseUrl: api.url, users: 1, seconds: 1, queries: ['docker'], limit: 5, runTag: PREFIX, warmupSeconds: 0 }),
      (err: unknown) => {
        assert.ok(err instanceof Error && !(err instanceof HttpTargetError), String(err));
        assert.match(err.message, /is degraded \(database ok, redis down\)/);
        return true;
      },
    );
  } finally {
    redis.disconnect();
    await api.close();
  }
});
