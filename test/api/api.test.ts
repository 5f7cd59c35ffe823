import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { ApiClient, type ApiResponse } from '../../src/api/api-client.js';
import { TokenBucket } from '../../src/ratelimit/token-bucket.js';
import { API_APPLICATION_NAME, type RunningApi } from '../../src/api/server.js';
import { baseConfig, uniqueName } from '../helpers/config.js';
import { closeTestPool, scalar, testPool } from '../helpers/db.js';
import { configWithLimits, deleteUsersWithPrefix, insertSearchableTraces, startTestApi } from '../helpers/api.js';

const PREFIX = uniqueName('api-test');
const email = (name: string) => `${PREFIX}-${name}@commontrace.invalid`;
const READ_LIMIT = 5;
const WRITE_LIMIT = 3;
const BODY_LIMIT = 4_096;

let redis: Redis;
let api: RunningApi;
let client: ApiClient;
let traces: Awaited<ReturnType<typeof insertSearchableTraces>>;
const userIds: string[] = [];

async function newUser(name: string) {
  const user = await client.register(email(name));
  userIds.push(user.userId);
  return user;
}

before(async () => {
  redis = new Redis(baseConfig.redisUrl);
  api = await startTestApi(configWithLimits({ readPerMinute: READ_LIMIT, writePerMinute: WRITE_LIMIT }, { bodyLimitBytes: BODY_LIMIT }), {
    deps: { pool: testPool(), redis },
  });
  client = new ApiClient(api.url);
  traces = await insertSearchableTraces(email('contributor'), [
    {
      title: 'Docker Compose healthcheck for the PostgreSQL service',
      context: 'The app container starts before PostgreSQL accepts connections and crashes on boot.',
      solution: 'healthcheck:\n  test: ["CMD-SHELL", "pg_isready -U postgres"]\ndepends_on:\n  db:\n    condition: service_healthy',
      tags: ['docker', 'postgresql'],
    },
    {
      title: 'Redis connection refused inside the Docker network',
      context: 'A service connects to localhost:6379 from its container and gets ECONNREFUSED.',
      solution: 'Use the service name as host: REDIS_URL=redis://redis:6379',
      tags: ['docker', 'redis'],
    },
    {
      title: 'React useEffect runs twice in development',
      context: 'In StrictMode the effect fetches twice on mount in development builds.',
      solution: 'Return a cleanup that aborts the fetch: const c = new AbortController(); return () => c.abort();',
      tags: ['react'],
    },
  ]);
});

after(async () => {
  await new TokenBucket(redis).reset(userIds);
  await api.close();
  await traces.cleanup();
  await deleteUsersWithPrefix(PREFIX);
  await redis.quit();
  await closeTestPool();
});

const body = <T>(res: ApiResponse) => res.body as T;

test('register returns a key once and stores only its SHA-256; a duplicate e-mail gets 409', async () => {
  const res = await client.request<{ user_id: string; api_key: string }>('POST', '/api/v1/auth/register', { body: { email: email('Alice') } });
  assert.equal(res.status, 201);
  const { user_id, api_key } = res.body!;
  userIds.push(user_id);
  assert.match(api_key, /^ct_[A-Za-z0-9_-]{43}$/);
  const stored = await scalar<string>('SELECT api_key_hash FROM users WHERE id = $1', [user_id]);
  assert.equal(stored, createHash('sha256').update(api_key).digest('hex'));
  assert.equal(await scalar<number>('SELECT count(*)::int FROM users WHERE api_key_hash = $1', [api_key]), 0, 'the plain key is stored nowhere');

  const again = await client.request('POST', '/api/v1/auth/register', { body: { email: email('alice').toUpperCase() } });
  assert.equal(again.status, 409);
  assert.match(body<{ message: string }>(again).message, /already registered/);

  const invalid = await client.request('POST', '/api/v1/auth/register', { body: { email: 'not-an-address' } });
  assert.equal(invalid.status, 400);
  assert.ok(body<{ fields: Record<string, string[]> }>(invalid).fields.email);
});

test('401 without a key, with an unknown key, or with a malformed header', async () => {
  const search = { q: 'docker' };
  const none = await client.request('POST', '/api/v1/traces/search', { body: search });
  assert.equal(none.status, 401);
  assert.equal(body<{ error: string }>(none).error, 'unauthorized');
  assert.equal((await client.request('POST', '/api/v1/traces/search', { body: search, apiKey: 'ct_not-a-real-key' })).status, 401);
  const res = await fetch(`${api.url}/api/v1/traces`, { method: 'POST', headers: { authorization: 'Basic abc', 'content-type': 'application/json' }, body: '{}' });
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
});

test('400 with the field errors on a malformed body; 413 on an oversize one', async () => {
  const user = await newUser('validation');
  const post = (path: string, raw: string) =>
    fetch(`${api.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${user.apiKey}`, 'content-type': 'application/json' }, body: raw });

  const notJson = await post('/api/v1/traces', '{"title": ');
  assert.equal(notJson.status, 400);

  const bad = await client.contribute(user.apiKey, { title: 'short', context: '', solution: 'x', tags: ['ok', 'not a tag!'] });
  assert.equal(bad.status, 400);
  const fields = body<{ fields: Record<string, string[]> }>(bad).fields;
  assert.deepEqual(Object.keys(fields).sort(), ['context', 'tags.1', 'title']);

  const search = await client.request('POST', '/api/v1/traces/search', { apiKey: user.apiKey, body: { q: 'docker', limit: 51, extra: 1 } });
  assert.equal(search.status, 400);
  assert.deepEqual(Object.keys(body<{ fields: Record<string, string[]> }>(search).fields).sort(), ['(body)', 'limit']);

  const huge = await post('/api/v1/traces', JSON.stringify({ title: 'x'.repeat(BODY_LIMIT), context: 'c', solution: 's' }));
  assert.equal(huge.status, 413);
  assert.match(((await huge.json()) as { message: string }).message, new RegExp(`${BODY_LIMIT} bytes`));
});

test('search finds the traces; SQL-injection-shaped q and tags return normal results and change nothing', async () => {
  const user = await newUser('injection');
  const counts = () =>
    testPool()
      .query<{ users: number; traces: number; tags: number; trace_tags: number }>(
        `SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM traces)::int AS traces,
                (SELECT count(*) FROM tags)::int AS tags, (SELECT count(*) FROM trace_tags)::int AS trace_tags`,
      )
      .then((r) => r.rows[0]!);
  const before = await counts();

  type Hits = { count: number; results: { id: string; tags: string[] }[] };
  const plain = await client.search(user.apiKey, 'docker compose postgres healthcheck', { tags: ['docker'], limit: 10 });
  assert.equal(plain.status, 200);
  const plainIds = body<Hits>(plain).results.map((r) => r.id);
  assert.ok(plainIds.includes(traces.ids[0]!) && plainIds.includes(traces.ids[1]!), 'both docker traces found');
  assert.ok(!plainIds.includes(traces.ids[2]!), 'the tag filter applies');

  const injected = await client.search(user.apiKey, "docker compose postgres healthcheck'; DROP TABLE traces; --", {
    tags: ['docker', "x' OR '1'='1", "'); DELETE FROM tags; --"],
    limit: 10,
  });
  assert.equal(injected.status, 200);
  assert.deepEqual(body<Hits>(injected).results.map((r) => r.id).sort(), [...plainIds].sort(), 'injection-shaped tags match nothing extra');
  const onlyInjected = await client.search(user.apiKey, "' OR 1=1; --", { tags: ["' OR 1=1; --"] });
  assert.equal(onlyInjected.status, 200);
  assert.equal(body<Hits>(onlyInjected).count, 0);

  assert.deepEqual(await counts(), before, 'no row anywhere changed');
});

test('a contribution is stored as pending with no embedding, verbatim and with normalized tags', async () => {
  const user = await newUser('contributor2');
  const title = "Robert'); DROP TABLE users; -- fixes his build";
  const res = await client.contribute(user.apiKey, { title, context: 'ctx', solution: 'sol', tags: ['Docker Compose', 'docker_compose'] });
  assert.equal(res.status, 201);
  const { id } = body<{ id: string }>(res);
  const { rows } = await testPool().query<{ title: string; status: string; embedding: string | null; contributor_id: string; tags: string[] }>(
    `SELECT t.title, t.status, t.embedding::text AS embedding, t.contributor_id,
            array(SELECT tg.name FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id WHERE tt.trace_id = t.id) AS tags
       FROM traces t WHERE t.id = $1`,
    [id],
  );
  assert.deepEqual(rows[0], { title, status: 'pending', embedding: null, contributor_id: user.userId, tags: ['docker-compose'] });
});

test('429 carries Retry-After and the RateLimit headers; read and write buckets are separate', async () => {
  const user = await newUser('limited');
  for (let i = 1; i <= READ_LIMIT; i++) {
    const ok = await client.search(user.apiKey, 'redis docker');
    assert.equal(ok.status, 200);
    assert.equal(ok.rateLimitPolicy, `"read";q=${READ_LIMIT};w=60`);
    assert.match(ok.rateLimit ?? '', new RegExp(`^"read";r=${READ_LIMIT - i};t=\\d+$`));
  }
  const limited = await client.search(user.apiKey, 'redis docker');
  assert.equal(limited.status, 429);
  assert.match(limited.retryAfter ?? '', /^\d+$/);
  // 5 per minute refills one token every 12 s; Retry-After is that, rounded up to whole seconds.
  assert.ok(Number(limited.retryAfter) >= 11 && Number(limited.retryAfter) <= 12, `Retry-After ${limited.retryAfter}`);
  assert.match(limited.rateLimit ?? '', /^"read";r=0;t=\d+$/);
  assert.equal(limited.rateLimitPolicy, `"read";q=${READ_LIMIT};w=60`);
  assert.equal(body<{ retry_after_seconds: number }>(limited).retry_after_seconds, Number(limited.retryAfter));

  const write = await client.contribute(user.apiKey, { title: 'Separate write bucket check', context: 'c', solution: 's' });
  assert.equal(write.status, 201, 'an empty read bucket does not block writes');
  assert.equal(write.rateLimitPolicy, `"write";q=${WRITE_LIMIT};w=60`);
  const other = await newUser('unaffected');
  assert.equal((await client.search(other.apiKey, 'redis')).status, 200, 'another user has its own bucket');
});

const STAGES = ['auth', 'limit', 'embed', 'db', 'rerank'];

function searchRequest(apiKey: string | undefined, q: string): Promise<Response> {
  return fetch(`${api.url}/api/v1/traces/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey && { authorization: `Bearer ${apiKey}` }) },
    body: JSON.stringify({ q }),
  });
}

test('a served search names its five stages in Server-Timing; 401 and 429 carry no Server-Timing', async () => {
  const user = await newUser('timing');
  const ok = await searchRequest(user.apiKey, 'docker compose healthcheck');
  assert.equal(ok.status, 200);
  const header = ok.headers.get('server-timing') ?? '';
  const entries = header.split(', ').map((entry) => /^([a-z]+);dur=(\d+\.\d{2})$/.exec(entry));
  assert.ok(entries.every((m) => m !== null), `W3C Server-Timing entries with 2-decimal durations, got "${header}"`);
  assert.deepEqual(entries.map((m) => m![1]), STAGES);
  for (const m of entries) assert.ok(Number.isFinite(Number(m![2])) && Number(m![2]) >= 0, `${m![1]} duration ${m![2]}`);
  assert.deepEqual(Object.keys((await ok.json()) as object).sort(), ['count', 'model', 'results'], 'the body contract is unchanged');

  const unauthorized = await searchRequest('ct_not-a-real-key', 'docker');
  assert.equal(unauthorized.status, 401);
  assert.equal(unauthorized.headers.get('server-timing'), null);

  const statuses: number[] = [];
  let limited: Response | undefined;
  while (!limited && statuses.length <= READ_LIMIT) {
    const res = await searchRequest(user.apiKey, 'docker');
    statuses.push(res.status);
    if (res.status === 429) limited = res;
    else await res.arrayBuffer();
  }
  assert.deepEqual(statuses, [...Array<number>(READ_LIMIT - 1).fill(200), 429], 'the first search took one token');
  assert.equal(limited!.headers.get('server-timing'), null);
  assert.equal(((await limited!.json()) as { error: string }).error, 'rate_limited');
});

function stageCounts(metrics: string): Record<string, number> {
  return Object.fromEntries(
    STAGES.map((stage) => {
      const count = new RegExp(`^commontrace_search_stage_duration_seconds_count\\{stage="${stage}"\\} (\\d+)$`, 'm').exec(metrics)?.[1];
      assert.ok(count !== undefined, `a count series for stage "${stage}"`);
      return [stage, Number(count)];
    }),
  );
}

test('/metrics has a duration histogram per search stage, and each served search adds one to every stage', async () => {
  const user = await newUser('stages');
  const metricsText = async () => String((await client.request('GET', '/metrics')).body);
  const before = await metricsText();
  for (const stage of STAGES) {
    for (const le of ['0.0001', '0.00025', '0.0005', '0.001', '0.0025', '0.005', '0.01', '0.02', '0.05', '0.1', '0.25', '1', '+Inf']) {
      assert.match(before, new RegExp(`^commontrace_search_stage_duration_seconds_bucket\\{le="${le.replace('+', '\\+')}",stage="${stage}"\\} \\d+$`, 'm'));
    }
  }
  assert.match(before, /^commontrace_search_widened_total \d+$/m);
  assert.match(before, /^commontrace_search_uncertified_total \d+$/m);

  assert.equal((await client.search(user.apiKey, 'redis connection refused')).status, 200);
  const after = await metricsText();
  const expected = Object.fromEntries(Object.entries(stageCounts(before)).map(([stage, n]) => [stage, n + 1]));
  assert.deepEqual(stageCounts(after), expected);
});

test('/metrics exposes the search histogram and the limiter counters; /healthz reports both stores', async () => {
  const text = String((await client.request('GET', '/metrics')).body);
  for (const le of ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2', '+Inf']) {
    assert.match(text, new RegExp(`^commontrace_search_duration_seconds_bucket\\{le="${le.replace('+', '\\+')}"\\} \\d+$`, 'm'));
  }
  const searches = Number(/^commontrace_search_duration_seconds_count (\d+)$/m.exec(text)?.[1]);
  assert.ok(searches >= READ_LIMIT + 4, `histogram counted the searches, got ${searches}`);
  assert.match(text, /^commontrace_ratelimit_limited_total\{bucket="read"\} [1-9]\d*$/m);
  assert.match(text, /^commontrace_ratelimit_allowed_total\{bucket="write"\} [1-9]\d*$/m);
  assert.match(text, /^# TYPE commontrace_ratelimit_failures_total counter$/m);

  const health = await client.health();
  assert.equal(health.status, 200);
  assert.deepEqual(health.body, { service: 'commontrace-api', status: 'ok', database: 'ok', redis: 'ok', fail_mode: 'open' });
});

test('two APIs in one process keep separate metrics', async () => {
  const second = await startTestApi(baseConfig, { deps: { pool: testPool(), redis } });
  try {
    const text = String((await new ApiClient(second.url).request('GET', '/metrics')).body);
    assert.match(text, /^commontrace_search_duration_seconds_count 0$/m);
    assert.deepEqual(stageCounts(text), { auth: 0, limit: 0, embed: 0, db: 0, rerank: 0 }, 'every stage series exists from the start');
  } finally {
    await second.close();
  }
});

test('an API with its own pool opens API_DB_POOL_SIZE connections and searches once on each before it listens', async () => {
  const own = await startTestApi(configWithLimits({}, { dbPoolSize: 3 }), { deps: { redis } });
  try {
    const { rows } = await testPool().query<{ query: string }>(
      'SELECT query FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()', [API_APPLICATION_NAME]);
    assert.equal(rows.length, 3, 'every connection is open before any request');
    assert.ok(rows.every((r) => r.query.startsWith('WITH route AS MATERIALIZED')), 'each last ran the search statement');
  } finally {
    await own.close();
  }
});
