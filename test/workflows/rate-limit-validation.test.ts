import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { WorkflowFailedError } from '@temporalio/client';
import type { RateLimitValidationInput, RateLimitValidationResult } from '../../src/workflows/messages.js';
import { RATE_LIMIT_VALIDATION_FAST } from '../../src/workflows/messages.js';
import { checkManyUsers, checkRefill } from '../../src/workflows/rate-limit-checks.js';
import { ApiPortBusyError, ensureLocalApiServer } from '../../src/api/local.js';
import { LocalEmbedder } from '../../src/embeddings/local.js';
import { rootCauseMessage } from '../../src/temporal.js';
import { baseConfig, startWorker, testConfig, uniqueName, withClient } from '../helpers/env.js';
import { closeTestPool, scalar, testPool } from '../helpers/db.js';
import { configWithLimits, freePort, startTestApi } from '../helpers/api.js';

let config: ReturnType<typeof testConfig>;
let worker: Awaited<ReturnType<typeof startWorker>>;

before(async () => {
  // The worker serves its own API on a free port, with the production limits (60 reads, 20 writes).
  config = testConfig({ api: { ...baseConfig.api, port: await freePort() } });
  worker = await startWorker(config);
});
after(async () => {
  await worker.stop();
  await closeTestPool();
});

function validate(input: RateLimitValidationInput): Promise<RateLimitValidationResult> {
  return withClient(config, (client) =>
    client.workflow.execute('rateLimitValidation', {
      taskQueue: config.temporal.taskQueue,
      workflowId: uniqueName('rate-limit-validation'),
      args: [{ ...RATE_LIMIT_VALIDATION_FAST, ...input }],
    }),
  );
}

const leftoverUsers = (prefix: string) => scalar<number>('SELECT count(*)::int FROM users WHERE starts_with(email, $1)', [prefix]);
const verdicts = (r: RateLimitValidationResult) => Object.fromEntries(r.checks.map((c) => [c.id, c.passed]));
const explain = (r: RateLimitValidationResult) => r.checks.map((c) => `${c.id} ${c.passed ? 'PASS' : 'FAIL'} ${c.observed}`).join('\n');

test('fast mode end to end against the API the worker serves: every check passes, nothing is left behind', async () => {
  const result = await validate({});
  assert.equal(result.passed, true, explain(result));
  assert.equal(result.apiSource, 'started');
  assert.equal(result.baseUrl, `http://127.0.0.1:${config.api.port}`);
  assert.deepEqual(result.checks.map((c) => c.id), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(result.settings.readLimit, 60);
  assert.equal(result.settings.refillWaitSeconds, RATE_LIMIT_VALIDATION_FAST.refillWaitSeconds);

  const [burst, next, refill, , writes, agent, many] = result.checks;
  assert.equal(burst!.figures.ok, 60);
  assert.match(String(next!.figures.retryAfter), /^\d+$/);
  assert.equal(next!.figures.rateLimitPolicy, '"read";q=60;w=60');
  assert.ok(Math.abs(Number(refill!.figures.ok) - Number(refill!.figures.expectedTokens)) <= 2);
  assert.ok(Number(writes!.figures.created) >= 20 && Number(writes!.figures.limited) >= 1);
  assert.equal(agent!.figures.limited, 0);
  assert.equal(many!.figures.users, RATE_LIMIT_VALIDATION_FAST.manyUsers);
  assert.ok(Number(many!.figures.minAllowed) >= 60);

  assert.deepEqual(result.cleanup, { usersDeleted: result.users, keysDeleted: 5 + RATE_LIMIT_VALIDATION_FAST.manyUsers! });
  assert.equal(await leftoverUsers(result.emailPrefix), 0, 'test users and their contributions are deleted');
});

test('a too-lenient limiter (10× the expected limits) fails the limiting checks', async () => {
  const api = await startTestApi(configWithLimits({ readPerMinute: 600, writePerMinute: 200 }), { deps: { pool: testPool() } });
  try {
    const result = await validate({ baseUrl: api.url, readLimit: 60, writeLimit: 20 });
    assert.equal(result.passed, false);
    assert.equal(result.apiSource, 'given');
    assert.deepEqual(verdicts(result), { 1: true, 2: false, 3: false, 4: false, 5: false, 6: true, 7: false }, explain(result));
    assert.match(result.checks[1]!.observed, /no 429/);
    assert.equal(await leftoverUsers(result.emailPrefix), 0);
  } finally {
    await api.close();
  }
});

test('a too-strict limiter (5 reads, 2 writes a minute) fails the burst, refill, agent and many-user checks', async () => {
  const api = await startTestApi(configWithLimits({ readPerMinute: 5, writePerMinute: 2 }), { deps: { pool: testPool() } });
  try {
    const result = await validate({ baseUrl: api.url, readLimit: 60, writeLimit: 20 });
    assert.equal(result.passed, false);
    assert.deepEqual(verdicts(result), { 1: false, 2: true, 3: false, 4: false, 5: false, 6: false, 7: false }, explain(result));
    assert.ok(Number(result.checks[5]!.figures.limited) > 0, 'the agent pattern saw 429s');
  } finally {
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
});
