import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { Redis } from 'ioredis';
import { ApiClient } from '../../src/api/api-client.js';
import type { RunningApi } from '../../src/api/server.js';
import { TokenBucket } from '../../src/ratelimit/token-bucket.js';
import { baseConfig, uniqueName } from '../helpers/config.js';
import { closeTestPool, scalar, testPool } from '../helpers/db.js';
import { configWithLimits, deleteUsersWithPrefix, startTestApi } from '../helpers/api.js';

const PREFIX = uniqueName('account-test');
const email = (name: string) => `${PREFIX}-${name}@commontrace.invalid`;
const READ_LIMIT = 100;
const WRITE_LIMIT = 20;
/** Roomy: these registrations come from loopback, which the rest of the suite registers from too. */
const REGISTER_LIMIT = 1_000;
/** The limit of the API that checks the register bucket, on test addresses of its own. */
const SMALL_REGISTER_LIMIT = 3;
/** Long, so a key that still worked after rotate or revoke could only come from the cache. */
const KEY_CACHE_TTL_MS = 120_000;

const UNKNOWN_KEY =
  'The API key is unknown, revoked or rotated. Use your current key, or register a new account (POST /api/v1/auth/register) to get one.';
const NUL_MESSAGE = 'must not contain the NUL character (U+0000): PostgreSQL text cannot store it';

let redis: Redis;
let api: RunningApi;
let client: ApiClient;
const userIds: string[] = [];
const addressKeys: string[] = [];

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');

/** An address in 198.18.0.0/15 (RFC 2544, benchmarking): never loopback, so the suite's own registrations are untouched. */
function testAddress(): string {
  const address = `198.${18 + randomInt(2)}.${randomInt(256)}.${randomInt(1, 255)}`;
  addressKeys.push(`rl:addr:${address}:register`);
  return address;
}

async function newUser(name: string) {
  const user = await client.register(email(name));
  userIds.push(user.userId);
  return user;
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | null;
}

async function call(method: 'POST' | 'DELETE', path: string, apiKey?: string): Promise<Answer> {
  const res = await fetch(`${api.url}${path}`, { method, headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

const searchStatus = async (apiKey: string) => (await client.search(apiKey, 'docker')).status;
const rowsWithId = (id: string) => scalar<number>('SELECT count(*)::int FROM users WHERE id = $1', [id]);

before(async () => {
  redis = new Redis(baseConfig.redisUrl);
  const config = configWithLimits(
    { readPerMinute: READ_LIMIT, writePerMinute: WRITE_LIMIT, registerPerMinute: REGISTER_LIMIT },
    { keyCacheTtlMs: KEY_CACHE_TTL_MS },
  );
  api = await startTestApi(config, { deps: { pool: testPool(), redis } });
  client = new ApiClient(api.url);
});

after(async () => {
  await new TokenBucket(redis).reset(userIds);
  if (addressKeys.length > 0) await redis.del(...addressKeys);
  await api.close();
  await deleteUsersWithPrefix(PREFIX);
  await redis.quit();
  await closeTestPool();
});

test('addresses at commontrace.internal or a subdomain cannot register: 400 naming the reserved domain', async () => {
  const reserved = [
    `${PREFIX}@commontrace.internal`,
    `${PREFIX}@CommonTrace.Internal`,
    `${PREFIX}@benchmark.commontrace.internal`,
    'seeds@commontrace.internal',
    'capacity-test@commontrace.internal',
  ];
  for (const address of reserved) {
    const res = await client.request<{ error: string; message: string; fields: Record<string, string[]> }>('POST', '/api/v1/auth/register', {
      body: { email: address },
    });
    assert.equal(res.status, 400, address);
    assert.deepEqual(res.body!.fields, {
      email: ["addresses at commontrace.internal and its subdomains are reserved for CommonTrace's own system users; register another address"],
    });
    assert.match(res.body!.message, /^The request body is invalid: email: addresses at commontrace\.internal /);
  }
  const created = [`${PREFIX}@commontrace.internal`, `${PREFIX}@benchmark.commontrace.internal`];
  assert.equal(await scalar<number>('SELECT count(*)::int FROM users WHERE email = ANY($1::text[])', [created]), 0);
  const lookalike = await client.request('POST', '/api/v1/auth/register', { body: { email: email('notcommontrace.internal') } });
  assert.equal(lookalike.status, 201, 'a local part that mentions the domain is fine');
  userIds.push((lookalike.body as { user_id: string }).user_id);
});

test('registration over the per-address limit gets 429 with Retry-After and the RateLimit headers; another address is unaffected', async () => {
  // trustProxy: the test picks its client addresses with X-Forwarded-For.
  const limited = await startTestApi(configWithLimits({ registerPerMinute: SMALL_REGISTER_LIMIT }, { trustProxy: true }), { deps: { pool: testPool(), redis } });
  try {
    const register = (name: string, from: string) =>
      fetch(`${limited.url}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
        body: JSON.stringify({ email: email(name) }),
      });
    const address = testAddress();
    for (let i = 1; i <= SMALL_REGISTER_LIMIT; i++) {
      const res = await register(`burst-${i}`, address);
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('ratelimit-policy'), `"register";q=${SMALL_REGISTER_LIMIT};w=60`);
      assert.match(res.headers.get('ratelimit') ?? '', new RegExp(`^"register";r=${SMALL_REGISTER_LIMIT - i};t=\\d+$`));
      userIds.push(((await res.json()) as { user_id: string }).user_id);
    }
    const refused = await register('over', address);
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    // 3 a minute refills one token every 20 s: the wait is at most that, in whole seconds.
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 20, `Retry-After ${refused.headers.get('retry-after')}`);
    assert.equal(refused.headers.get('ratelimit-policy'), `"register";q=${SMALL_REGISTER_LIMIT};w=60`);
    assert.match(refused.headers.get('ratelimit') ?? '', /^"register";r=0;t=\d+$/);
    const body = (await refused.json()) as { error: string; message: string; retry_after_seconds: number };
    assert.equal(body.error, 'rate_limited');
    assert.equal(body.retry_after_seconds, retryAfter);
    assert.equal(body.message, `The register limit is 3 requests per minute per client address. Retry after ${retryAfter} s.`);
    assert.equal(await scalar<number>('SELECT count(*)::int FROM users WHERE email = $1', [email('over')]), 0, 'the refused request created no user');

    const other = await register('other-address', testAddress());
    assert.equal(other.status, 201, 'another address has its own budget');
    userIds.push(((await other.json()) as { user_id: string }).user_id);
  } finally {
    await limited.close();
  }
});

test('without API_TRUST_PROXY the register limit counts the TCP peer, never X-Forwarded-For', async () => {
  const peer = testAddress();
  const claimed = testAddress();
  const res = await api.app.inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    remoteAddress: peer,
    headers: { 'x-forwarded-for': claimed },
    payload: { email: email('peer') },
  });
  assert.equal(res.statusCode, 201);
  userIds.push(res.json<{ user_id: string }>().user_id);
  assert.equal(await redis.exists(`rl:addr:${peer}:register`), 1);
  assert.equal(await redis.exists(`rl:addr:${claimed}:register`), 0);
});

test('an unknown key gets 401 that says it is unknown, revoked or rotated', async () => {
  const res = await client.search('ct_not-a-real-key', 'docker');
  assert.equal(res.status, 401);
  assert.deepEqual(res.body, { error: 'unauthorized', message: UNKNOWN_KEY });
});

test('rotate: a new key once (200), the old key 401 at once, the new key 200', async () => {
  const user = await newUser('rotate');
  assert.equal(await searchStatus(user.apiKey), 200, 'the key is now in the cache');

  const rotated = await call('POST', '/api/v1/auth/keys/rotate', user.apiKey);
  assert.equal(rotated.status, 200);
  assert.equal(rotated.headers.get('cache-control'), 'no-store');
  assert.equal(rotated.headers.get('ratelimit-policy'), `"write";q=${WRITE_LIMIT};w=60`);
  const { user_id, api_key } = rotated.body as { user_id: string; api_key: string };
  assert.equal(user_id, user.userId);
  assert.match(api_key, /^ct_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(api_key, user.apiKey);
  assert.equal(await scalar<string>('SELECT api_key_hash FROM users WHERE id = $1', [user.userId]), sha256(api_key));

  const old = await client.search(user.apiKey, 'docker');
  assert.equal(old.status, 401);
  assert.deepEqual(old.body, { error: 'unauthorized', message: UNKNOWN_KEY });
  assert.equal(await searchStatus(api_key), 200);
  assert.equal((await call('POST', '/api/v1/auth/keys/rotate', user.apiKey)).status, 401, 'the old key cannot rotate again');
  assert.equal(await searchStatus(api_key), 200, 'a refused rotation changes nothing');
});

test('revoke: 204, then the key gets 401; the account stays, without a key', async () => {
  const user = await newUser('revoke');
  assert.equal(await searchStatus(user.apiKey), 200);
  const revoked = await call('DELETE', '/api/v1/auth/keys/current', user.apiKey);
  assert.equal(revoked.status, 204);
  assert.equal(revoked.body, null);
  assert.equal(await searchStatus(user.apiKey), 401);
  assert.equal(await scalar<string | null>('SELECT api_key_hash FROM users WHERE id = $1', [user.userId]), null);
  assert.equal(await rowsWithId(user.userId), 1);
  assert.equal((await call('DELETE', '/api/v1/auth/keys/current', user.apiKey)).status, 401);
});

test('delete me: 204, the user and its traces are gone, the key gets 401', async () => {
  const user = await newUser('delete-me');
  const contributed = await client.contribute(user.apiKey, { title: 'A trace that leaves with its user', context: 'c', solution: 's' });
  assert.equal(contributed.status, 201);
  const traceId = (contributed.body as { id: string }).id;

  // A user that spent its whole write budget can still remove itself: ending a key is not limited.
  for (let i = 0; i < WRITE_LIMIT; i++) await client.contribute(user.apiKey, { title: `spend ${i}`, context: 'c', solution: 's' });
  assert.equal((await client.contribute(user.apiKey, { title: 'over', context: 'c', solution: 's' })).status, 429);
  const deleted = await call('DELETE', '/api/v1/users/me', user.apiKey);
  assert.equal(deleted.status, 204);
  assert.equal(deleted.headers.get('ratelimit-policy'), null);
  assert.equal(await rowsWithId(user.userId), 0);
  assert.equal(await scalar<number>('SELECT count(*)::int FROM traces WHERE id = $1', [traceId]), 0, 'traces cascade');
  assert.equal(await searchStatus(user.apiKey), 401);
  assert.equal((await call('DELETE', '/api/v1/users/me', user.apiKey)).status, 401);
});

test('a system user cannot delete itself: 403, and it stays', async () => {
  const key = `ct_${randomBytes(32).toString('base64url')}`;
  const { rows } = await testPool().query<{ id: string }>(
    `INSERT INTO users (email, display_name, is_system, api_key_hash) VALUES ($1, 'Test system user', true, $2) RETURNING id`,
    [`${PREFIX}-system@test.commontrace.internal`, sha256(key)],
  );
  const id = rows[0]!.id;
  userIds.push(id);
  const res = await call('DELETE', '/api/v1/users/me', key);
  assert.equal(res.status, 403);
  assert.equal(res.body!.error, 'forbidden');
  assert.match(String(res.body!.message), /system user/);
  assert.equal(await rowsWithId(id), 1);
  assert.equal(await searchStatus(key), 200, 'its key still works');
});

test('U+0000 in any string of a body gets 400 naming the field', async () => {
  const user = await newUser('nul');
  const NUL = '\u0000';
  const register = '/api/v1/auth/register';
  const search = '/api/v1/traces/search';
  const contribute = '/api/v1/traces';
  const trace = { title: 'A title long enough', context: 'c', solution: 's' };
  const cases: { path: string; body: Record<string, unknown>; field: string }[] = [
    { path: register, body: { email: `${PREFIX}-nul${NUL}@commontrace.invalid` }, field: 'email' },
    { path: register, body: { email: email('nul-name'), display_name: `Ann${NUL}` }, field: 'display_name' },
    { path: search, body: { q: `docker${NUL}compose` }, field: 'q' },
    { path: search, body: { q: 'docker', tags: ['docker', `re${NUL}dis`] }, field: 'tags.1' },
    { path: contribute, body: { ...trace, title: `A title with${NUL}a NUL in it` }, field: 'title' },
    { path: contribute, body: { ...trace, context: `ctx${NUL}` }, field: 'context' },
    { path: contribute, body: { ...trace, solution: `${NUL}` }, field: 'solution' },
    { path: contribute, body: { ...trace, tags: [`do${NUL}cker`] }, field: 'tags.0' },
    { path: contribute, body: { ...trace, agent_model: `model${NUL}` }, field: 'agent_model' },
    { path: contribute, body: { ...trace, agent_version: `1.0${NUL}` }, field: 'agent_version' },
  ];
  for (const { path, body, field } of cases) {
    const res = await client.request<{ error: string; message: string; fields: Record<string, string[]> }>('POST', path, {
      apiKey: path === register ? undefined : user.apiKey,
      body,
    });
    assert.equal(res.status, 400, `${path} ${field}`);
    assert.equal(res.body!.error, 'invalid_body');
    assert.deepEqual(res.body!.fields, { [field]: [NUL_MESSAGE] }, `${path} ${field}`);
    assert.equal(res.body!.message, `The request body is invalid: ${field}: ${NUL_MESSAGE}`);
  }
  assert.equal(await scalar<number>('SELECT count(*)::int FROM users WHERE email = $1', [email('nul-name')]), 0);
  assert.equal(await scalar<number>('SELECT count(*)::int FROM traces WHERE contributor_id = $1', [user.userId]), 0);
});
