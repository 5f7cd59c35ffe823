import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { RunningApi } from '../../src/api/server.js';
import { HttpTargetError, runHttpLoad, type HttpLoadOptions } from '../../src/benchmark/http-load.js';
import { baseConfig, uniqueName } from '../helpers/env.js';
import { closeTestPool, testPool } from '../helpers/db.js';
import { configWithLimits, deleteUsersWithPrefix, freePort, startTestApi } from '../helpers/api.js';

const TAG = uniqueName('httpload');
const READ_LIMIT = 3;
let redis: Redis;
let roomy: RunningApi;
let tight: RunningApi;
let runs = 0;

before(async () => {
  redis = new Redis(baseConfig.redisUrl);
  const deps = { deps: { pool: testPool(), redis } };
  roomy = await startTestApi(configWithLimits({ readPerMinute: 1_000_000 }), deps);
  tight = await startTestApi(configWithLimits({ readPerMinute: READ_LIMIT }), deps);
});

after(async () => {
  await deleteUsersWithPrefix(`bench-${TAG}`);
  await Promise.all([roomy.close(), tight.close()]);
  redis.disconnect();
  await closeTestPool();
});

function options(baseUrl: string, extra: Partial<HttpLoadOptions> = {}): HttpLoadOptions {
  return { baseUrl, users: 2, seconds: 1, queries: ['docker compose healthcheck', 'react useEffect twice'], limit: 5, runTag: `${TAG}-${runs++}`, ...extra };
}

test('closed loop: every user gets its own key; all 2xx latencies recorded, nothing else', async () => {
  const r = await runHttpLoad(options(roomy.url, { users: 3 }));
  assert.equal(r.mode, 'closed-loop');
  assert.ok(r.ok > 10, `some load was generated: ${JSON.stringify(r)}`);
  assert.deepEqual(r.statusCodes, { '200': r.ok });
  assert.equal(r.non2xx, 0);
  assert.equal(r.errors, 0);
  assert.equal(r.errorRate, 0);
  assert.equal(r.latency.count, r.ok);
  assert.ok(r.qps > 0 && r.latency.p50 > 0 && r.latency.p50 <= r.latency.p99);
  assert.equal(r.rateLimitPolicy, '"read";q=1000000;w=60');
  const users = await testPool().query<{ n: number; keys: number }>(
    'SELECT count(*)::int AS n, count(DISTINCT api_key_hash)::int AS keys FROM users WHERE starts_with(email, $1)', [`bench-${TAG}-0-`],
  );
  assert.deepEqual(users.rows[0], { n: 3, keys: 3 });
});

test('rate-limited responses are counted as non-2xx, in the status histogram, and never in the latencies', async () => {
  const r = await runHttpLoad(options(tight.url, { users: 2, seconds: 1 }));
  // Each user's bucket holds 3 reads: one went to the warm-up search, two to the load; the rest get 429.
  assert.equal(r.ok, 2 * (READ_LIMIT - 1));
  assert.ok(r.non2xx > 0, JSON.stringify(r));
  assert.deepEqual(r.statusCodes, { '200': r.ok, '429': r.non2xx });
  assert.equal(r.latency.count, r.ok);
  assert.equal(r.requests, r.ok + r.non2xx + r.errors);
  assert.equal(r.errorRate, (r.non2xx + r.errors) / r.requests);
});

test('open loop: each user sends on its own schedule, staggered, for the whole duration', async () => {
  const r = await runHttpLoad(options(roomy.url, { users: 2, seconds: 2, ratePerUser: 5 }));
  assert.equal(r.mode, 'open-loop');
  assert.equal(r.ratePerUser, 5);
  // 2 users × 5/s × 2 s, whatever the server's speed: the schedule, not the responses, sets the pace.
  assert.equal(r.requests, 20);
  assert.equal(r.ok, 20);
  assert.equal(r.latency.count, 20);
  assert.ok(r.seconds >= 1.9, `ran for the duration: ${r.seconds}`);
});

test('an API that is not there is a clear error, before any load', async () => {
  const port = await freePort();
  await assert.rejects(runHttpLoad(options(`http://127.0.0.1:${port}`)), (err: unknown) => {
    assert.ok(err instanceof HttpTargetError);
    assert.match(err.message, /is not healthy .*start it, or skip the HTTP phase/);
    return true;
  });
});
