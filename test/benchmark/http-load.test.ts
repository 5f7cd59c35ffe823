import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { availableParallelism } from 'node:os';
import { Redis } from 'ioredis';
import type { RunningApi } from '../../src/api/server.js';
import { HttpTargetError, LOAD_TEST_EMAIL_DOMAIN, runHttpLoad, type HttpLoadOptions, type LoadTestUser } from '../../src/benchmark/http-load.js';
import { baseConfig, uniqueName } from '../helpers/config.js';
import { closeTestPool, scalar, testPool } from '../helpers/db.js';
import { configWithLimits, deleteUsersWithPrefix, freePort, startFaultyProxy, startTestApi } from '../helpers/api.js';

const TAG = uniqueName('httpload');
const READ_LIMIT = 3;
let redis: Redis;
let roomy: RunningApi;
let tight: RunningApi;
let runs = 0;

before(async () => {
  redis = new Redis(baseConfig.redisUrl);
  const deps = { deps: { pool: testPool(), redis } };
  // Registration is limited per client address: every test here registers from 127.0.0.1.
  roomy = await startTestApi(configWithLimits({ readPerMinute: 1_000_000, registerPerMinute: 1_000_000 }), deps);
  tight = await startTestApi(configWithLimits({ readPerMinute: READ_LIMIT, registerPerMinute: 1_000_000 }), deps);
});

after(async () => {
  // A safety net for a failing test only: the runs delete their own users through the API.
  await deleteUsersWithPrefix(`bench-${TAG}`);
  await Promise.all([roomy.close(), tight.close()]);
  redis.disconnect();
  await closeTestPool();
});

/** No warm-up unless a test asks for one: the user counts below are the measured users'. */
function options(baseUrl: string, extra: Partial<HttpLoadOptions> = {}): HttpLoadOptions {
  return { baseUrl, users: 2, seconds: 1, queries: ['docker compose healthcheck', 'react useEffect twice'], limit: 5, runTag: `${TAG}-${runs++}`, warmupSeconds: 0, ...extra };
}

/** Options that record the users the run reports as it registers them. */
function tracked(baseUrl: string, extra: Partial<HttpLoadOptions> = {}): { options: HttpLoadOptions; users: LoadTestUser[] } {
  const users: LoadTestUser[] = [];
  return { options: options(baseUrl, { ...extra, onUserRegistered: (u) => users.push(u) }), users };
}

/** Rows the database still holds for these users, by id or by e-mail. */
const remaining = (users: LoadTestUser[]) =>
  scalar<number>('SELECT count(*)::int FROM users WHERE id = ANY($1::uuid[]) OR email = ANY($2::text[])', [users.map((u) => u.userId), users.map((u) => u.email)]);

test('closed loop: every user registers its own account; all 2xx latencies recorded, nothing else; the users are deleted after', async () => {
  const run = tracked(roomy.url, { users: 3 });
  const r = await runHttpLoad(run.options);
  assert.equal(r.mode, 'closed-loop');
  assert.ok(r.ok > 10, `some load was generated: ${JSON.stringify(r)}`);
  assert.deepEqual(r.statusCodes, { '200': r.ok });
  assert.equal(r.non2xx, 0);
  assert.equal(r.errors, 0);
  assert.equal(r.errorRate, 0);
  assert.equal(r.latency.count, r.ok);
  assert.ok(r.qps > 0 && r.latency.p50 > 0 && r.latency.p50 <= r.latency.p99);
  assert.equal(r.rateLimitPolicy, '"read";q=1000000;w=60');
  // The load ran in child processes, users spread over at most one per core.
  assert.equal(r.harness.processes, Math.min(3, availableParallelism()));
  assert.equal(r.harness.scheduleLagP99Ms, null);
  assert.equal(r.harness.saturated, r.harness.reason !== null);
  // The API times its stages in Server-Timing: every 2xx is split, and the split adds up.
  assert.ok(r.stages, 'the API sent Server-Timing');
  assert.deepEqual(Object.keys(r.stages), ['auth', 'limit', 'embed', 'db', 'rerank', 'server', 'outside']);
  for (const stage of Object.values(r.stages)) assert.equal(stage.count, r.ok);
  assert.ok(r.stages.server!.p50 <= r.latency.p50 && r.stages.db!.p50 <= r.stages.server!.p50, JSON.stringify(r.stages));
  // Three accounts (one key each), at the load-test domain, and none of them left in the API's database.
  assert.deepEqual(run.users.map((u) => u.email).sort(), [0, 1, 2].map((i) => `bench-${run.options.runTag}-${i}@loadtest.commontrace.invalid`));
  assert.equal(new Set(run.users.map((u) => u.userId)).size, 3);
  assert.equal(await remaining(run.users), 0);
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
  assert.equal(r.harness.processes, Math.min(2, availableParallelism()));
  assert.equal(typeof r.harness.scheduleLagP99Ms, 'number');
  assert.equal(r.stages?.server?.count, 20);
});

test('a warm-up runs first by as many other users at the same rate, stays out of the measured figures, and its users are deleted too', async () => {
  const run = tracked(roomy.url, { users: 2, seconds: 2, ratePerUser: 5, warmupSeconds: 1 });
  const r = await runHttpLoad(run.options);
  // 2 warm-up users × 5/s × 1 s before, 2 measured users × 5/s × 2 s in the window.
  assert.deepEqual(r.warmup, { users: 2, seconds: 1, ratePerUser: 5, requests: 10, ok: 10 });
  assert.equal(r.requests, 20);
  assert.equal(r.latency.count, 20);
  assert.equal(r.users, 2);
  assert.deepEqual(run.users.map((u) => u.email).sort(), [0, 1, 2, 3].map((i) => `bench-${run.options.runTag}-${i}@loadtest.commontrace.invalid`));
  assert.equal(await remaining(run.users), 0);
});

/**
 * A stand-in for the API that answers every search with a fixed Server-Timing (or none), so the
 * stage split can be checked against known durations.
 */
async function fakeApi(serverTiming: string | null, deleteStatus = 204): Promise<{ url: string; server: Server }> {
  let users = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/healthz') return res.end('{"status":"ok"}');
      if (req.method === 'DELETE' && req.url === '/api/v1/users/me') {
        res.statusCode = deleteStatus;
        return res.end(deleteStatus === 204 ? undefined : '{"message":"deletion is down"}');
      }
      if (req.url === '/api/v1/auth/register') {
        users++;
        res.statusCode = 201;
        return res.end(JSON.stringify({ user_id: `u${users}`, api_key: `key-${users}` }));
      }
      if (serverTiming) res.setHeader('Server-Timing', serverTiming);
      res.end('{"count":0,"results":[]}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

test('Server-Timing stages: each stage, their sum and the rest, in both loops; null without the header', async () => {
  const fake = await fakeApi('auth;dur=0.5, db;desc="warm, hnsw";dur=2, extra;dur=0.25');
  const bare = await fakeApi(null);
  try {
    for (const ratePerUser of [undefined, 20]) {
      const r = await runHttpLoad(options(fake.url, { users: 2, seconds: 1, ratePerUser }));
      assert.ok(r.ok > 0 && r.stages, JSON.stringify(r));
      assert.deepEqual(Object.keys(r.stages), ['auth', 'db', 'extra', 'server', 'outside']);
      assert.deepEqual([r.stages.auth!.min, r.stages.auth!.max, r.stages.db!.p50, r.stages.extra!.p99], [0.5, 0.5, 2, 0.25]);
      assert.deepEqual([r.stages.server!.min, r.stages.server!.max, r.stages.server!.count], [2.75, 2.75, r.ok]);
      assert.equal(r.stages.outside!.count, r.ok);
    }
    const r = await runHttpLoad(options(bare.url, { users: 1, seconds: 1 }));
    assert.ok(r.ok > 0);
    assert.equal(r.stages, null);
  } finally {
    fake.server.closeAllConnections();
    bare.server.closeAllConnections();
    await Promise.all([fake, bare].map(({ server }) => new Promise((resolve) => server.close(resolve))));
  }
});

test('aborting the load kills its children, rejects with the reason, and still deletes the users', async () => {
  const controller = new AbortController();
  const run = tracked(roomy.url, { users: 2, seconds: 600, ratePerUser: 2, signal: controller.signal, onProgress: (n) => n > 0 && controller.abort(new Error('load cancelled')) });
  await assert.rejects(runHttpLoad(run.options), /load cancelled/);
  assert.equal(run.users.length, 2);
  assert.equal(await remaining(run.users), 0);
});

test('a phase that fails after registration (the API answers 500 to searches) still deletes its users', async () => {
  const proxy = await startFaultyProxy(roomy.url, (method, path) => (method === 'POST' && path === '/api/v1/traces/search' ? 500 : 'forward'));
  try {
    const run = tracked(proxy.url, { users: 3 });
    await assert.rejects(runHttpLoad(run.options), (err: unknown) => {
      assert.ok(err instanceof HttpTargetError);
      assert.match(err.message, /warm-up search answered 500/);
      return true;
    });
    assert.equal(run.users.length, 3);
    // Deleted through the API they were registered with, each with its own key, and gone from its database.
    assert.equal(proxy.forwarded.get('DELETE /api/v1/users/me 204'), 3);
    assert.equal(await remaining(run.users), 0);
  } finally {
    await proxy.close();
  }
});

test('users the API will not delete fail an otherwise good run, saying which ones to delete', async () => {
  const fake = await fakeApi(null, 500);
  try {
    await assert.rejects(runHttpLoad(options(fake.url, { users: 2, seconds: 1 })), (err: unknown) => {
      assert.ok(err instanceof HttpTargetError);
      assert.match(err.message, /the load ran, but 2 of 2 benchmark users could not be deleted/);
      assert.ok(err.message.includes(`@${LOAD_TEST_EMAIL_DOMAIN}`), err.message);
      return true;
    });
  } finally {
    fake.server.closeAllConnections();
    await new Promise((resolve) => fake.server.close(resolve));
  }
});

test('an API that is not there is a clear error, before any load', async () => {
  const port = await freePort();
  await assert.rejects(runHttpLoad(options(`http://127.0.0.1:${port}`)), (err: unknown) => {
    assert.ok(err instanceof HttpTargetError);
    assert.match(err.message, /is not healthy .*start it, or skip the HTTP phase/);
    return true;
  });
});
