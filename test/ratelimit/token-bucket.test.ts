import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  BUCKET_TTL_SECONDS,
  LimiterUnavailableError,
  REFILL_WINDOW_SECONDS,
  TokenBucket,
  bucketKey,
} from '../../src/ratelimit/token-bucket.js';
import { baseConfig } from '../helpers/config.js';
import { freePort } from '../helpers/api.js';

const CONNECTIONS = 8;
let clients: Redis[];
let bucket: TokenBucket;
const used: string[] = [];

function userId(): string {
  const id = `test-${randomUUID()}`;
  used.push(id);
  return id;
}

// These tests are about exactness, not latency: a generous timeout keeps a busy machine from
// turning a slow answer into a limiter failure.
const TIMEOUT_MS = 10_000;

before(async () => {
  clients = Array.from({ length: CONNECTIONS }, () => new Redis(baseConfig.redisUrl));
  await Promise.all(clients.map((c) => c.ping()));
  bucket = new TokenBucket(clients[0]!, TIMEOUT_MS);
});
after(async () => {
  await bucket.reset(used);
  await Promise.all(clients.map((c) => c.quit()));
});

test('200 concurrent takes over 8 connections on a full bucket of 60 allow exactly 60', async () => {
  const id = userId();
  const limiters = clients.map((c) => new TokenBucket(c, TIMEOUT_MS));
  const decisions = await Promise.all(Array.from({ length: 200 }, (_, i) => limiters[i % CONNECTIONS]!.take(id, 'read', 60)));
  assert.equal(decisions.filter((d) => d.allowed).length, 60);
  for (const d of decisions) {
    for (const v of [d.remaining, d.retryAfterMs, d.resetMs]) assert.ok(Number.isInteger(v) && v >= 0, `integer results, got ${v}`);
    if (!d.allowed) assert.ok(d.retryAfterMs > 0 && d.retryAfterMs <= 1000, `a refused take waits up to one refill interval, got ${d.retryAfterMs}`);
  }
  // Each allowed take saw a distinct remaining count: no two requests spent the same token.
  assert.deepEqual(
    decisions.filter((d) => d.allowed).map((d) => d.remaining).sort((a, b) => a - b),
    Array.from({ length: 60 }, (_, i) => i),
  );
});

test('refill after a measured pause is within ±1 token of limit/60 per second', async () => {
  const id = userId();
  const capacity = 120; // 2 tokens/s
  const rate = capacity / REFILL_WINDOW_SECONDS;
  const redisSeconds = async () => {
    const [s, us] = await clients[0]!.time();
    return Number(s) + Number(us) / 1e6;
  };
  await Promise.all(Array.from({ length: capacity }, () => bucket.take(id, 'read', capacity)));
  let last = await bucket.take(id, 'read', capacity);
  while (last.allowed) last = await bucket.take(id, 'read', capacity);
  // What the refused take left behind: a fraction of a token, known from its retry-after.
  const residue = 1 - (last.retryAfterMs / 1000) * rate;
  const emptiedAt = await redisSeconds();
  await new Promise((r) => setTimeout(r, 2_500));
  // The pause on the limiter's own clock (Redis TIME), so client scheduling does not blur it.
  const pause = (await redisSeconds()) - emptiedAt;
  let allowed = 0;
  while ((await bucket.take(id, 'read', capacity)).allowed) allowed++;
  const expected = residue + pause * rate;
  assert.ok(Math.abs(allowed - expected) <= 1, `refilled ${allowed}, expected ${expected.toFixed(2)} ±1 (${pause.toFixed(3)} s at ${rate}/s + ${residue.toFixed(3)} left over)`);
  assert.ok(allowed >= 4 && allowed <= 6, `2.5 s at 2 tokens/s refills about 5, got ${allowed}`);
});

test('the key is rl:{user_id}:{bucket}, holds integer state and has a TTL that outlives a full refill', async () => {
  const id = userId();
  const first = await bucket.take(id, 'write', 20);
  assert.deepEqual({ allowed: first.allowed, remaining: first.remaining, limit: first.limit }, { allowed: true, remaining: 19, limit: 20 });
  assert.ok(first.resetMs > 2_900 && first.resetMs <= 3_000, `one token of 20/min refills in 3 s, got ${first.resetMs} ms`);
  const redis = clients[0]!;
  const key = bucketKey(id, 'write');
  assert.equal(key, `rl:${id}:write`);
  const state = await redis.hgetall(key);
  assert.match(state.units!, /^\d+$/);
  assert.match(state.updated_us!, /^\d+$/);
  const ttl = await redis.ttl(key);
  assert.ok(ttl > REFILL_WINDOW_SECONDS && ttl <= BUCKET_TTL_SECONDS, `TTL ${ttl} s must exceed the ${REFILL_WINDOW_SECONDS} s full refill`);
  assert.equal(await redis.exists(bucketKey(id, 'read')), 0, 'the read bucket is separate and untouched');
});

test('buckets are per user and per name; reset deletes only the given users', async () => {
  const a = userId();
  const b = userId();
  for (let i = 0; i < 3; i++) await bucket.take(a, 'read', 3);
  assert.equal((await bucket.take(a, 'read', 3)).allowed, false);
  assert.equal((await bucket.take(a, 'write', 3)).allowed, true, 'write is its own bucket');
  assert.equal((await bucket.take(b, 'read', 3)).allowed, true, 'another user is unaffected');
  assert.equal(await bucket.reset([a]), 2);
  assert.equal((await bucket.take(a, 'read', 3)).remaining, 2, 'a reset bucket starts full');
  assert.equal(await clients[0]!.exists(bucketKey(b, 'read')), 1);
});

test('bad capacity or cost is refused before Redis is asked', async () => {
  await assert.rejects(bucket.take(userId(), 'read', 0), RangeError);
  await assert.rejects(bucket.take(userId(), 'read', 10, 11), RangeError);
  await assert.rejects(bucket.take(userId(), 'read', 1.5), RangeError);
});

// The test's timeout is the hang guard; the assertion is the error, not a duration.
test('an unreachable Redis fails with LimiterUnavailableError instead of queueing the command', { timeout: 30_000 }, async () => {
  const port = await freePort(); // nothing listens there
  const dead = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  dead.on('error', () => undefined);
  try {
    await assert.rejects(new TokenBucket(dead, 300).take(userId(), 'read', 60), LimiterUnavailableError);
  } finally {
    dead.disconnect();
  }
});
