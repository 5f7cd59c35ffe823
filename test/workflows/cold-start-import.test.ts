import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { SeedImportInput, SeedImportResult } from '../../src/workflows/seed-import.js';
import { SEED_CONTRIBUTOR_EMAIL } from '../../src/seeds/import.js';
import { executeWorkflow, startWorker, testConfig, uniqueName } from '../helpers/env.js';
import { closeTestPool, scalar, testPool } from '../helpers/db.js';
import { runCliInProcess as runCli } from '../helpers/cli-in-process.js';
import { deleteSeeds, loadSeeds, SEED_COUNT, seedStats, tempFixture } from '../helpers/seeds.js';
import { seedImport } from '../../src/workflows/seed-import.js';
import { CHECK_CHANNEL, type CheckSummary } from '../../src/seeds/code-blocks/registry.js';

const config = testConfig();
let worker: Awaited<ReturnType<typeof startWorker>>;

before(async () => {
  await deleteSeeds();
  worker = await startWorker(config);
});
after(async () => {
  await worker.stop();
  await deleteSeeds();
  await closeTestPool();
});

function runSeedImport(input: SeedImportInput): Promise<SeedImportResult> {
  return executeWorkflow(config, seedImport, input);
}

const traceCount = () => scalar<number>('SELECT count(*)::int FROM traces');

test('importing the shipped fixture inserts every seed; importing it again inserts none', async () => {
  const first = await runSeedImport({ chunkSize: 50 });
  assert.deepEqual(
    { total: first.total, chunks: first.chunks, inserted: first.inserted, updated: first.updated, skipped: first.skipped },
    { total: SEED_COUNT, chunks: 7, inserted: SEED_COUNT, updated: 0, skipped: 0 },
  );
  assert.deepEqual(await seedStats(), { rows: SEED_COUNT, distinctKeys: SEED_COUNT, embedded: 0 });
  assert.equal(
    await scalar<number>(
      `SELECT count(*)::int FROM traces t JOIN users u ON u.id = t.contributor_id
        WHERE u.email = $1 AND u.is_seed AND t.status = 'validated' AND t.trust_score = 1 AND t.confirmation_count = 2`,
      [SEED_CONTRIBUTOR_EMAIL],
    ),
    SEED_COUNT,
  );
  const tagless = await scalar<number>(`SELECT count(*)::int FROM traces t WHERE is_seed AND NOT EXISTS (SELECT 1 FROM trace_tags tt WHERE tt.trace_id = t.id)`);
  assert.equal(tagless, 0, 'every seed carries its tags');

  // The worker runs in this process, so its code-block checks are seen here: the second validation
  // of the same fixture is answered by the worker's cache, with no checker process.
  const checks: CheckSummary[] = [];
  const onCheck = (message: unknown) => checks.push(message as CheckSummary);
  subscribe(CHECK_CHANNEL.name, onCheck);
  const again = await runSeedImport({ chunkSize: 100 }).finally(() => unsubscribe(CHECK_CHANNEL.name, onCheck));
  assert.deepEqual({ inserted: again.inserted, updated: again.updated, skipped: again.skipped, chunks: again.chunks }, { inserted: 0, updated: 0, skipped: SEED_COUNT, chunks: 4 });
  assert.equal(checks.length, 1);
  assert.deepEqual(checks[0]!.cached, checks[0]!.blocks, 'every block answered by the cache');
  assert.deepEqual(checks[0]!.processes, {});
  assert.deepEqual(await seedStats(), { rows: SEED_COUNT, distinctKeys: SEED_COUNT, embedded: 0 });
});

test('a changed seed is reported updated and its embedding reset to NULL', async () => {
  const pool = testPool();
  await pool.query(`UPDATE traces SET embedding = array_fill(0.1, ARRAY[1536])::vector, embedding_model_id = 'some-model' WHERE is_seed`);
  const seeds = (await loadSeeds()).slice(0, 6);
  const changed = { ...seeds[2]!, context: `${seeds[2]!.context} It also happens after a restart.` };
  const fixture = await tempFixture([...seeds.slice(0, 2), changed, ...seeds.slice(3)]);
  try {
    const result = await runSeedImport({ path: fixture.path, corpus: false, chunkSize: 4 });
    assert.deepEqual({ total: result.total, inserted: result.inserted, updated: result.updated, skipped: result.skipped }, { total: 6, inserted: 0, updated: 1, skipped: 5 });
  } finally {
    await fixture.cleanup();
  }
  const { rows } = await pool.query<{ seed_key: string; context_text: string }>(
    'SELECT seed_key, context_text FROM traces WHERE is_seed AND (embedding IS NULL OR embedding_model_id IS NULL)',
  );
  assert.deepEqual(rows, [{ seed_key: changed.seed_key, context_text: changed.context }], 'only the changed seed lost its vector');
  assert.deepEqual(await seedStats(), { rows: SEED_COUNT, distinctKeys: SEED_COUNT, embedded: SEED_COUNT - 1 });
});

test('an invalid fixture fails the workflow, non-retryably, listing the problems, before any row is written', async () => {
  await deleteSeeds();
  const seeds = (await loadSeeds()).slice(0, 5);
  const broken = [
    seeds[0],
    { ...seeds[1], tags: ['ok-tag', 'Not Valid!'] },
    { ...seeds[2], seed_key: seeds[0]!.seed_key },
    { ...seeds[3], title: undefined },
    seeds[4],
  ];
  const fixture = await tempFixture(broken);
  const before = { traces: await traceCount(), users: await scalar<number>('SELECT count(*)::int FROM users'), tags: await scalar<number>('SELECT count(*)::int FROM tags') };
  try {
    const err = await runSeedImport({ path: fixture.path, corpus: false }).then(
      () => assert.fail('an invalid fixture must fail the import'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ActivityFailure);
    const failure = err.cause.cause;
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, 'InvalidSeedFixture');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /is invalid \(3 problem\(s\)\); nothing was written/);
    assert.match(failure.message, /\$\[1\]\.tags\[1\]/);
    assert.match(failure.message, /duplicate seed_key "[a-z0-9-]+"/);
    assert.match(failure.message, /\$\[3\]\.title: required field is missing/);
    assert.equal((failure.details?.[0] as unknown[]).length, 3, 'the problems travel as structured details too');
  } finally {
    await fixture.cleanup();
  }
  assert.deepEqual(
    { traces: await traceCount(), users: await scalar<number>('SELECT count(*)::int FROM users'), tags: await scalar<number>('SELECT count(*)::int FROM tags') },
    before,
    'not a single row (not even the seed contributor) was written',
  );
  assert.equal(await scalar<number>('SELECT count(*)::int FROM users WHERE email = $1', [SEED_CONTRIBUTOR_EMAIL]), 0);
});

test('a missing fixture fails non-retryably with the path in the message', async () => {
  const path = `/tmp/${uniqueName('no-such-fixture')}.json`;
  const err = await runSeedImport({ path }).then(
    () => assert.fail('a missing fixture must fail the import'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError && err.cause?.cause instanceof ApplicationFailure);
  assert.equal(err.cause.cause.type, 'SeedFixtureMissing');
  assert.ok(err.cause.cause.message.includes(path));
});

test('CLI: the 12-trace sample imports without the corpus-size rules, as `seeds validate` treats it', async () => {
  await deleteSeeds();
  const env = { TEMPORAL_TASK_QUEUE: config.temporal.taskQueue, DATABASE_URL: config.databaseUrl };
  const result = await runCli(['seeds', 'import', 'fixtures/sample_traces.json', '--json'], env);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const report = JSON.parse(result.stdout) as SeedImportResult;
  assert.deepEqual([report.total, report.inserted, report.skipped], [12, 12, 0]);
  assert.deepEqual(await seedStats(), { rows: 12, distinctKeys: 12, embedded: 0 });
});
