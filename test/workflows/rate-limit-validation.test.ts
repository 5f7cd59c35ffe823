import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import pg from 'pg';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { RateLimitValidationInput, RateLimitValidationResult } from '../../src/workflows/rate-limit-validation.js';
import { checkIndependent, checkManyUsers, checkRefill } from '../../src/workflows/rate-limit-checks.js';
import { ApiPortBusyError, ensureLocalApiServer } from '../../src/api/local.js';
import { generateApiKey } from '../../src/api/auth.js';
import { endPool } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { LocalEmbedder } from '../../src/embeddings/local.js';
import { rootCauseMessage } from '../../src/temporal.js';
import { adminUrl, baseConfig, dropDatabase, startWorker, testConfig, uniqueName, withClient } from '../helpers/env.js';
import { closeTestPool, testPool } from '../helpers/db.js';
import { configWithLimits, freePort, startFaultyProxy, startTestApi } from '../helpers/api.js';
import { TEST_RATE_LIMIT_VALIDATION } from '../helpers/launch.js';
import { rateLimitValidation } from '../../src/workflows/rate-limit-validation.js';

let config: ReturnType<typeof testConfig>;
let worker: Awaited<ReturnType<typeof startWorker>>;

/** Registration is limited per client address, and every run here registers from 127.0.0.1. */
const REGISTER_UNLIMITED = { registerPerMinute: 1_000_000 };

before(async () => {
  // The worker serves its own API on a free port, with the production limits (60 reads, 20 writes).
  config = testConfig({ api: { ...baseConfig.api, port: await freePort() }, rateLimit: { ...baseConfig.rateLimit, ...REGISTER_UNLIMITED } });
  worker = await startWorker(config);
});
after(async () => {
  await worker.stop();
  await closeTestPool();
});

function validate(input: RateLimitValidationInput, workflowId = uniqueName('rate-limit-validation')): Promise<RateLimitValidationResult> {
  return withClient(config, (client) =>
    client.workflow.execute(rateLimitValidation, {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [{ ...TEST_RATE_LIMIT_VALIDATION, ...input }],
    }),
  );
}

/** An API key as src/api/auth.ts generateApiKey makes them: `ct_` and 32 bytes in base64url. */
const API_KEY = /ct_[A-Za-z0-9_-]{43}/;

/**
 * A history as text with every payload's bytes decoded (JSON payloads are UTF-8), so a key anywhere
 * in it shows. Walked by hand: the proto messages' own toJSON would render the bytes as base64.
 */
function historyText(history: unknown): string {
  const plain = (value: unknown): unknown => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    if (Array.isArray(value)) return value.map(plain);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
    return value;
  };
  return JSON.stringify(plain(history));
}

/** The recorded history of a workflow and of every child it started, each as text. */
async function historiesOf(client: Client, workflowId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const children = (history.events ?? []).flatMap((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId ?? []);
  return [historyText(history), ...(await Promise.all(children.map((id) => historiesOf(client, id)))).flat()];
}

const leftoverUsers = (prefix: string, pool: pg.Pool = testPool()) =>
  pool.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE starts_with(email, $1)', [prefix]).then((r) => r.rows[0]!.n);
const verdicts = (r: RateLimitValidationResult) => Object.fromEntries(r.checks.map((c) => [c.id, c.passed]));
const explain = (r: RateLimitValidationResult) => r.checks.map((c) => `${c.id} ${c.passed ? 'PASS' : 'FAIL'} ${c.observed}`).join('\n');

test('fast mode end to end against the API the worker serves: every check passes, nothing is left behind, no key is in the history', async () => {
  const workflowId = uniqueName('rate-limit-validation');
  const result = await validate({}, workflowId);
  assert.equal(result.passed, true, explain(result));
  assert.equal(result.apiSource, 'started');
  assert.equal(result.baseUrl, `http://127.0.0.1:${config.api.port}`);
  assert.deepEqual(result.checks.map((c) => c.id), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(result.settings.readLimit, 60);
  assert.equal(result.settings.refillWaitSeconds, TEST_RATE_LIMIT_VALIDATION.refillWaitSeconds);

  const [burst, next, refill, , writes, agent, many] = result.checks;
  assert.equal(burst!.figures.ok, 60);
  assert.match(String(next!.figures.retryAfter), /^\d+$/);
  assert.equal(next!.figures.rateLimitPolicy, '"read";q=60;w=60');
  assert.ok(Math.abs(Number(refill!.figures.ok) - Number(refill!.figures.expectedTokens)) <= 2);
  assert.ok(Number(writes!.figures.created) >= 20 && Number(writes!.figures.limited) >= 1);
  assert.equal(agent!.figures.limited, 0);
  assert.equal(many!.figures.users, TEST_RATE_LIMIT_VALIDATION.manyUsers);
  assert.ok(Number(many!.figures.minAllowed) >= 60);

  // Users: burst, drained + second, writer, agent and the crowd. Bucket keys: each user's read bucket
  // and the writer's emptied write bucket (deleting a user spends no token).
  const users = 5 + TEST_RATE_LIMIT_VALIDATION.manyUsers;
  assert.equal(result.users, users);
  assert.deepEqual(result.cleanup, { usersDeleted: users, keysDeleted: users + 1 });
  assert.equal(await leftoverUsers(result.emailPrefix), 0, 'test users and their contributions are deleted');

  // No API key in any payload of the recorded history (inputs, results, failures, heartbeats).
  const histories = await withClient(config, (client) => historiesOf(client, workflowId));
  assert.equal(histories.length, 1, 'no child workflows');
  for (const text of histories) assert.doesNotMatch(text, API_KEY);
  // The scan reads decoded payloads: check 3's sealed hand-over is in there, and its data key is gone.
  // (Payload JSON inside the history text: its quotes are escaped.)
  const handle = /\\"handle\\":\\"([0-9a-f-]{36})\\",\\"sealed\\":\\"[A-Za-z0-9+/=]{40,}\\"/.exec(histories[0]!)?.[1];
  assert.ok(handle, 'the held user crossed the timer sealed');
  assert.equal(await worker.deps.redis.exists(`commontrace:key-escrow:${handle}`), 0, 'the sealed key can never be opened again');
});

test('the history scan finds a key in a payload of a real history message', () => {
  const result = defaultPayloadConverter.toPayload({ userId: 'u1', apiKey: generateApiKey() });
  const history = proto.temporal.api.history.v1.History.create({ events: [{ activityTaskCompletedEventAttributes: { result: { payloads: [result] } } }] });
  assert.doesNotMatch(JSON.stringify(history), API_KEY, 'a plain JSON dump shows the payload only as base64');
  assert.match(historyText(history), API_KEY);
});

test('a too-lenient limiter (10× the expected limits) on another deployment fails the limiting checks; its users are deleted there', async () => {
  // Another deployment: its own database, which the worker knows nothing about.
  const databaseUrl = adminUrl(baseConfig.databaseUrl, uniqueName('ct_rate_limit_remote').replace(/-/g, '_'));
  await migrateDatabase(databaseUrl);
  const remote = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const api = await startTestApi({ ...configWithLimits({ readPerMinute: 600, writePerMinute: 200, ...REGISTER_UNLIMITED }), databaseUrl }, { deps: { pool: remote } });
  try {
    const result = await validate({ baseUrl: api.url, readLimit: 60, writeLimit: 20 });
    assert.equal(result.passed, false);
    assert.equal(result.apiSource, 'given');
    assert.deepEqual(verdicts(result), { 1: true, 2: false, 3: false, 4: false, 5: false, 6: true, 7: false }, explain(result));
    assert.match(result.checks[1]!.observed, /no 429/);
    // Every user was deleted through that API, so from its database; none ever reached the worker's.
    const users = 5 + TEST_RATE_LIMIT_VALIDATION.manyUsers;
    assert.equal(result.users, users);
    assert.equal((result.cleanup as { usersDeleted: number }).usersDeleted, users, JSON.stringify(result.cleanup));
    assert.equal(await leftoverUsers(result.emailPrefix, remote), 0);
    assert.equal(await leftoverUsers(result.emailPrefix), 0);
  } finally {
    await api.close();
    await endPool(remote);
    await dropDatabase(databaseUrl);
  }
});

test('a too-strict limiter (5 reads, 2 writes a minute) fails the burst, refill, agent and many-user checks', async () => {
  const api = await startTestApi(configWithLimits({ readPerMinute: 5, writePerMinute: 2, ...REGISTER_UNLIMITED }), { deps: { pool: testPool() } });
  try {
    const result = await validate({ baseUrl: api.url, readLimit: 60, writeLimit: 20 });
    assert.equal(result.passed, false);
    assert.deepEqual(verdicts(result), { 1: false, 2: true, 3: false, 4: false, 5: false, 6: false, 7: false }, explain(result));
    assert.ok(Number(result.checks[5]!.figures.limited) > 0, 'the agent pattern saw 429s');
    // The writer emptied its 2-a-minute write bucket, which the delete spends from: deleted all the same.
    assert.equal((result.cleanup as { usersDeleted: number }).usersDeleted, result.users, JSON.stringify(result.cleanup));
    assert.equal(await leftoverUsers(result.emailPrefix), 0);
  } finally {
    await api.close();
  }
});

test('checks whose activities fail after registering (searches and writes get no answer) still delete every user they registered', async () => {
  const api = await startTestApi(configWithLimits(REGISTER_UNLIMITED), { deps: { pool: testPool() } });
  const proxy = await startFaultyProxy(api.url, (_method, path) => (path.startsWith('/api/v1/traces') ? 'drop' : 'forward'));
  try {
    const result = await validate({ baseUrl: proxy.url, agentSessions: 1, manyUsers: 2 });
    assert.equal(result.passed, false);
    for (const c of result.checks) assert.match(c.observed, /could not run/, `${c.id}: ${c.observed}`);
    const registered = proxy.forwarded.get('POST /api/v1/auth/register 201') ?? 0;
    // Each of checks 1, 4, 5, 6 and 7 registered its users on each of its 3 attempts (check 3 never ran).
    assert.equal(registered, 3 * (1 + 2 + 1 + 1 + 2));
    assert.equal(proxy.forwarded.get('DELETE /api/v1/users/me 204'), registered);
    assert.equal(await leftoverUsers(result.emailPrefix), 0);
  } finally {
    await proxy.close();
    await api.close();
  }
});

test('an unreachable base URL fails the run with a message that says what to do', async () => {
  const port = await freePort();
  await assert.rejects(validate({ baseUrl: `http://127.0.0.1:${port}` }), (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError);
    assert.match(rootCauseMessage(err), /npm run cli -- api/);
    return true;
  });
});

test('bad input is refused before any traffic', async () => {
  await assert.rejects(validate({ readLimit: 0 }), (err: unknown) => {
    assert.match(rootCauseMessage(err), /readLimit must be a positive number/);
    return true;
  });
});

test('the worker API is reused when healthy, and a foreign server on the port is refused', async () => {
  // The first test left the worker's API listening: another worker's deps find and reuse it.
  const deps = { config, pool: testPool(), redis: worker.deps.redis, embedder: new LocalEmbedder() };
  assert.deepEqual(await ensureLocalApiServer(deps), { baseUrl: `http://127.0.0.1:${config.api.port}`, source: 'reused' });

  const foreign = createServer((_req, res) => res.writeHead(404).end());
  const port = await freePort();
  await new Promise<void>((resolve) => foreign.listen(port, '127.0.0.1', resolve));
  try {
    await assert.rejects(ensureLocalApiServer({ ...deps, config: { ...config, api: { ...config.api, port } } }), ApiPortBusyError);
  } finally {
    await new Promise((resolve) => foreign.close(resolve));
  }
});

test('check verdicts sit exactly on the documented bounds', () => {
  const refill = (ok: number) =>
    checkRefill(60, 10, { elapsedSeconds: 10, expectedTokens: 10, tally: { total: 15, ok, limited: 15 - ok, other: 0, statuses: {} } }).passed;
  assert.deepEqual([7, 8, 10, 12, 13].map(refill), [false, true, true, true, false], 'research: 8–12 of 15 after 10 s');

  const many = (allowed: number[]) =>
    checkManyUsers(60, {
      perUser: allowed.map((a) => ({ allowed: a, limited: 70 - a, other: 0, seconds: 0.5 })),
      tally: { total: 70 * allowed.length, ok: 0, limited: 0, other: 0, statuses: {} },
      seconds: 0.5,
    }).passed;
  assert.equal(many([60, 60, 61]), true, '0.5 s of refill allows one extra');
  assert.equal(many([60, 59]), false, 'a user who got less than the limit fails');
  assert.equal(many([60, 62]), false, 'more than the limit plus refill fails');

  // User A, emptied earlier, may be allowed what can have refilled since: ceil(seconds × limit/60),
  // as for every burst (the bucket's fraction of a token at its 429 is unknown).
  const burstB = { tally: { total: 60, ok: 60, limited: 0, other: 0, statuses: { 200: 60 } }, seconds: 0.2, followUpsAllowed: 0, followUpsSent: 1, limited: true, secondsToLimit: 0.3, exhaustedAt: 0 };
  const independent = (status: number, allowedBeforeLimit: number, secondsSinceEmpty: number) =>
    checkIndependent(60, { ...burstB, otherUser: { status, allowedBeforeLimit, secondsSinceEmpty } }).passed;
  assert.equal(independent(429, 0, 0.01), true, 'A limited at once');
  assert.equal(independent(429, 1, 0.01), true, 'the last fraction of a token may complete within 10 ms');
  assert.equal(independent(429, 2, 0.01), false, 'two tokens in 10 ms');
  assert.equal(independent(429, 2, 1.2), true, '1.2 s on a slow host: up to two');
  assert.equal(independent(429, 3, 1.2), false, 'more than can have refilled');
  assert.equal(independent(200, 0, 0.01), false, 'A never limited');
  assert.equal(checkIndependent(60, burstB).passed, false, 'A not probed');
});
