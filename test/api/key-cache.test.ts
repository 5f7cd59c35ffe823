import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { Redis } from 'ioredis';
import { createApiKeyCache, hashApiKey } from '../../src/api/auth.js';
import { ApiClient } from '../../src/api/api-client.js';
import type { RunningApi } from '../../src/api/server.js';
import { TokenBucket } from '../../src/ratelimit/token-bucket.js';
import { baseConfig, uniqueName } from '../helpers/config.js';
import { closeTestPool, testPool, waitFor } from '../helpers/db.js';
import { configWithLimits, deleteUsersWithPrefix, startTestApi } from '../helpers/api.js';

const PREFIX = uniqueName('key-cache');
const email = (name: string) => `${PREFIX}-${name}@commontrace.invalid`;
/** Generous, so the rate limiter never answers in these tests. */
const READ_LIMIT = 1_000;
/** Long enough that it never runs out between two requests of one test. */
const LONG_TTL_MS = 120_000;

let redis: Redis;
const userIds: string[] = [];
const apis: RunningApi[] = [];

/** The test pool, with a count of the users-by-key-hash lookups made through it. */
function countingPool(): { pool: pg.Pool; lookups: () => number } {
  const target = testPool();
  let lookups = 0;
  const query = (...args: unknown[]) => {
    const first = args[0] as string | { text?: string };
    const text = typeof first === 'string' ? first : first.text ?? '';
    if (/\bWHERE api_key_hash = \$1/.test(text)) lookups++;
    return (target.query as (...a: unknown[]) => unknown)(...args);
  };
  const pool = new Proxy(target, {
    get(t, prop) {
      if (prop === 'query') return query;
      const value: unknown = Reflect.get(t, prop, t);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
  });
  return { pool, lookups: () => lookups };
}

async function startApi(keyCacheTtlMs: number, pool: pg.Pool = testPool()): Promise<{ api: RunningApi; client: ApiClient }> {
  const api = await startTestApi(configWithLimits({ readPerMinute: READ_LIMIT }, { keyCacheTtlMs }), { deps: { pool, redis } });
  apis.push(api);
  return { api, client: new ApiClient(api.url) };
}

async function register(client: ApiClient, name: string) {
  const user = await client.register(email(name));
  userIds.push(user.userId);
  return user;
}

const revokeInDatabase = (userId: string) => testPool().query('UPDATE users SET api_key_hash = NULL WHERE id = $1', [userId]);

before(() => {
  redis = new Redis(baseConfig.redisUrl);
});

after(async () => {
  await Promise.all(apis.map((a) => a.close()));
  await new TokenBucket(redis).reset(userIds);
  await deleteUsersWithPrefix(PREFIX);
  await redis.quit();
  await closeTestPool();
});

test('searches with one key look it up once; unknown keys are looked up every time, never cached', async () => {
  const { pool, lookups } = countingPool();
  const { client } = await startApi(LONG_TTL_MS, pool);
  const user = await register(client, 'serial');
  assert.equal(lookups(), 0, 'registering looks nothing up');

  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await client.search(user.apiKey, 'docker')).status);
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
  assert.equal(lookups(), 1, 'six searches, one users lookup');

  const unknown = [await client.search('ct_unknown-key', 'docker'), await client.search('ct_unknown-key', 'docker')];
  assert.deepEqual(unknown.map((r) => r.status), [401, 401]);
  assert.equal(lookups(), 3, 'an unknown key is looked up every time');
});

test('a key removed from the database answers 401 once API_KEY_CACHE_TTL_MS has passed', async () => {
  const { client } = await startApi(200);
  const user = await register(client, 'expiring');
  assert.equal((await client.search(user.apiKey, 'docker')).status, 200);

  await revokeInDatabase(user.userId);
  // The cached entry may still answer 200 for up to the TTL; the key must then stop working.
  await waitFor(async () => (await client.search(user.apiKey, 'docker')).status === 401, 5_000, 'the revoked key to answer 401');
  assert.equal((await client.search(user.apiKey, 'docker')).status, 401, 'and it stays refused');
});

test('within the TTL a revoked key still works in this process until invalidate() or clear() drops it', async () => {
  const { api, client } = await startApi(LONG_TTL_MS);
  const one = await register(client, 'invalidated');
  const two = await register(client, 'cleared');
  assert.deepEqual([(await client.search(one.apiKey, 'docker')).status, (await client.search(two.apiKey, 'docker')).status], [200, 200]);

  await revokeInDatabase(one.userId);
  await revokeInDatabase(two.userId);
  assert.deepEqual(
    [(await client.search(one.apiKey, 'docker')).status, (await client.search(two.apiKey, 'docker')).status],
    [200, 200],
    'the documented window: cached keys keep working until the TTL',
  );

  api.app.apiKeys.invalidate(hashApiKey(one.apiKey));
  assert.equal((await client.search(one.apiKey, 'docker')).status, 401);
  assert.equal((await client.search(two.apiKey, 'docker')).status, 200, 'invalidate drops only that key');

  api.app.apiKeys.clear();
  assert.equal((await client.search(two.apiKey, 'docker')).status, 401);
  assert.equal(api.app.apiKeys.size, 0, 'refused keys are not cached');
});

test('API_KEY_CACHE_TTL_MS=0 looks the key up on every request', async () => {
  const { pool, lookups } = countingPool();
  const { client } = await startApi(0, pool);
  const user = await register(client, 'uncached');
  for (let i = 0; i < 3; i++) assert.equal((await client.search(user.apiKey, 'docker')).status, 200);
  assert.equal(lookups(), 3);
});

/** A pool whose first users lookup waits until released; later ones go straight through. */
function gatedPool(): { pool: pg.Pool; lookups: () => number; release: () => void } {
  let lookups = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const pool = {
    async query(text: string, values: unknown[]) {
      if (++lookups === 1) await gate;
      return testPool().query(text, values);
    },
  } as unknown as pg.Pool;
  return { pool, lookups: () => lookups, release };
}

test('concurrent lookups of one uncached key share a single query', async () => {
  const { client } = await startApi(LONG_TTL_MS);
  const user = await register(client, 'concurrent');
  const { pool, lookups, release } = gatedPool();
  const cache = createApiKeyCache(pool, { ttlMs: LONG_TTL_MS, max: 10 });
  const hash = hashApiKey(user.apiKey);

  const pending = Array.from({ length: 6 }, () => cache.lookup(hash));
  await waitFor(async () => lookups() === 1, 5_000, 'the first lookup to start');
  release();
  assert.deepEqual(await Promise.all(pending), Array<string>(6).fill(user.userId));
  assert.equal(await cache.lookup(hash), user.userId);
  assert.equal(lookups(), 1, 'six waiting lookups and a later one, one query');
});

test('a lookup invalidated while in flight is answered by a fresh one, and the stale answer is not cached', async () => {
  const { client } = await startApi(LONG_TTL_MS);
  const user = await register(client, 'in-flight');
  const hash = hashApiKey(user.apiKey);
  const { pool, lookups, release } = gatedPool();
  const cache = createApiKeyCache(pool, { ttlMs: LONG_TTL_MS, max: 10 });

  const pending = cache.lookup(hash);
  await waitFor(async () => lookups() === 1, 5_000, 'the first lookup to start');
  await revokeInDatabase(user.userId);
  cache.invalidate(hash);
  assert.equal(await pending, undefined, 'answered by a lookup made after the revocation');
  assert.equal(lookups(), 2);

  release();
  assert.equal(await cache.lookup(hash), undefined);
  assert.equal(lookups(), 3, 'the released first lookup left nothing in the cache');
  assert.equal(cache.size, 0);
});

test('the cache holds at most max keys, and a failed database lookup fails the request without being cached', async () => {
  const { client } = await startApi(LONG_TTL_MS);
  const users = [await register(client, 'bound-a'), await register(client, 'bound-b'), await register(client, 'bound-c')];
  const cache = createApiKeyCache(testPool(), { ttlMs: LONG_TTL_MS, max: 2 });
  const found = await Promise.all(users.map((u) => cache.lookup(hashApiKey(u.apiKey))));
  assert.deepEqual(found, users.map((u) => u.userId));
  assert.equal(cache.size, 2);

  const boom = new Error('database unavailable');
  let calls = 0;
  const failing = createApiKeyCache({ query: () => (++calls, Promise.reject(boom)) } as unknown as pg.Pool, { ttlMs: LONG_TTL_MS, max: 10 });
  await assert.rejects(failing.lookup(hashApiKey(users[0]!.apiKey)), (err) => err === boom);
  await assert.rejects(failing.lookup(hashApiKey(users[0]!.apiKey)), (err) => err === boom);
  assert.equal(calls, 2, 'the failure was not cached');
  assert.equal(failing.size, 0);
});
