/**
 * Faults beyond population's own (durability.test.ts): the worker SIGKILLed during the embedding
 * backfill, the index build and the cleanup, and PostgreSQL restarted (`pg_ctl restart -m fast`)
 * during a population. Each run is finished by a fresh worker (or the same one, for the restart)
 * and must end with exact counts read from the rows themselves.
 */
import { after, afterEach, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { Workflow, WorkflowResultType } from '@temporalio/common';
import { capacityRowId } from '../../src/capacity/generator.js';
import { traceCounts } from '../../src/capacity/cleanup.js';
import { LOCAL_MODEL_ID } from '../../src/embeddings/local.js';
import { removeAllCapacityData } from '../helpers/capacity.js';
import { baseConfig, startWorkflow, testConfig, uniqueName, withClient } from '../helpers/env.js';
import { capacityCleanup } from '../../src/workflows/capacity-cleanup.js';
import { capacityPopulation } from '../../src/workflows/capacity-population.js';
import { embeddingReadiness } from '../../src/workflows/embedding-readiness.js';
import { indexBuild } from '../../src/workflows/index-build.js';
import { seedImport } from '../../src/workflows/seed-import.js';
import { capacityScalar, capacityTestPool, closeTestPool, scalar, waitFor, CAPACITY_INDEX } from '../helpers/db.js';
import { run } from '../helpers/cli.js';
import { deleteSeeds, SEED_COUNT, seedStats } from '../helpers/seeds.js';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.js';

const TOTAL = 20_000;
const BATCH_SIZE = 500;
const workers: WorkerProcess[] = [];

before(() => removeAllCapacityData());
// Each test starts from a capacity database without capacity rows, so its counts are its own.
afterEach(() => removeAllCapacityData());
after(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await removeAllCapacityData();
  await closeTestPool();
});

/** A task queue of the test's own, with a worker process on it that the test may SIGKILL. */
async function workerQueue(prefix: string) {
  const taskQueue = uniqueName(prefix);
  const env = { TEMPORAL_TASK_QUEUE: taskQueue, DATABASE_URL: baseConfig.databaseUrl };
  const spawn = async () => {
    const w = await spawnWorker(env);
    workers.push(w);
    return w;
  };
  return { taskQueue, config: testConfig({ taskQueue }), first: await spawn(), spawn };
}

/** A started workflow's result, read on a new connection (the worker that started it may be gone). */
function result<W extends Workflow>(config: ReturnType<typeof testConfig>, handle: WorkflowHandle<W>): Promise<WorkflowResultType<W>> {
  return withClient(config, (client) => client.workflow.getHandle<W>(handle.workflowId).result());
}

/** What the capacity database holds, counted from its rows. */
async function capacityState() {
  return {
    ...(await traceCounts(capacityTestPool())),
    ledgerBatches: await capacityScalar<number>('SELECT count(*)::int FROM capacity_batches'),
    hnswIndexes: await capacityScalar<number>(`SELECT count(*)::int FROM pg_indexes WHERE tablename = 'traces' AND indexdef ILIKE '%USING hnsw%'`),
    indexValid: await capacityScalar<boolean | null>('SELECT (SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)) AS valid', [CAPACITY_INDEX]),
  };
}

/** Exactly `total` rows of the run, by their deterministic ids, and a ledger that sums to them. */
async function assertExactRun(runKey: string, total: number): Promise<void> {
  const ids = Array.from({ length: total }, (_, g) => capacityRowId(runKey, g));
  assert.equal(await capacityScalar<number>('SELECT count(*)::int FROM traces WHERE id = ANY($1::uuid[])', [ids]), total, 'every row of the run');
  assert.equal(await capacityScalar<number>(`SELECT count(*)::int FROM traces WHERE title LIKE 'Capacity trace%'`), total, 'no other capacity row');
  assert.equal(await capacityScalar<number>('SELECT coalesce(sum(rows), 0)::int FROM capacity_batches WHERE run_key = $1', [runKey]), total);
}

async function populate(config: ReturnType<typeof testConfig>, runKey: string): Promise<void> {
  const loaded = await result(config, await startWorkflow(config, capacityPopulation, { total: TOTAL, batchSize: BATCH_SIZE, runKey, clusters: 50 }));
  assert.equal(loaded.rowsPresent, TOTAL);
}

async function kill(t: TestContext, worker: WorkerProcess, what: string, counts: unknown): Promise<void> {
  await worker.kill('SIGKILL');
  t.diagnostic(`SIGKILL ${what}: ${JSON.stringify(counts)}`);
}

test('worker SIGKILLed during the embedding backfill: a fresh worker finishes, every seed embedded, none pending', async (t) => {
  await deleteSeeds();
  t.after(deleteSeeds);
  const q = await workerQueue('fault-embed');
  await result(q.config, await startWorkflow(q.config, seedImport, {}));
  assert.deepEqual(await seedStats(), { rows: SEED_COUNT, distinctKeys: SEED_COUNT, embedded: 0 });

  // Two rows a transaction on one lane: long enough for the kill to land mid-backfill.
  const handle = await startWorkflow(q.config, embeddingReadiness, { target: 'seeds', batchSize: 2, lanes: 1 });
  await waitFor(async () => (await seedStats()).embedded >= 20, 60_000, 'the backfill to embed some seeds');
  const atKill = await seedStats();
  await kill(t, q.first, 'mid-backfill', atKill);
  assert.ok(atKill.embedded < SEED_COUNT, `the kill must land mid-backfill (${atKill.embedded} embedded)`);

  await q.spawn();
  const done = await result(q.config, handle);
  const after = await seedStats();
  t.diagnostic(`before the kill ${atKill.embedded}/${SEED_COUNT} embedded; after ${after.embedded}/${after.rows}`);
  assert.deepEqual(after, { rows: SEED_COUNT, distinctKeys: SEED_COUNT, embedded: SEED_COUNT });
  assert.equal(await scalar<number>('SELECT count(*)::int FROM traces WHERE is_seed AND embedding_model_id = $1', [LOCAL_MODEL_ID]), SEED_COUNT);
  assert.equal(done.pending, 0);
});

test('worker SIGKILLed during the index build: the server aborts the orphaned build, a fresh worker builds one valid index', async (t) => {
  const q = await workerQueue('fault-index');
  const runKey = uniqueName('fault-index');
  await populate(q.config, runKey);
  assert.equal((await capacityState()).hnswIndexes, 0, 'population dropped the index for the load');

  const handle = await startWorkflow(q.config, indexBuild, { prewarm: false });
  await waitFor(async () => (await capacityScalar<number>(
    `SELECT count(*)::int FROM pg_stat_progress_create_index WHERE datname = current_database()`,
  )) > 0, 60_000, 'the index build to start');
  const atKill = await capacityState();
  await kill(t, q.first, 'mid-build', atKill);

  await q.spawn();
  const report = await result(q.config, handle);
  const after = await capacityState();
  t.diagnostic(`after: ${JSON.stringify(after)}; the retry ${report.replaced === 'invalid' ? 'dropped the invalid leftover and ' : ''}built in ${report.buildSeconds} s`);
  assert.equal(report.usedByPlanner, true);
  assert.deepEqual({ hnswIndexes: after.hnswIndexes, indexValid: after.indexValid, capacity: after.capacity }, { hnswIndexes: 1, indexValid: true, capacity: TOTAL });
  await assertExactRun(runKey, TOTAL);
});

test('worker SIGKILLed during cleanup: a fresh worker finishes, no capacity row or ledger entry left, seeds untouched', async (t) => {
  const q = await workerQueue('fault-cleanup');
  const runKey = uniqueName('fault-cleanup');
  await populate(q.config, runKey);
  const before = await capacityState();
  assert.equal(before.capacity, TOTAL);

  const handle = await startWorkflow(q.config, capacityCleanup, { batchSize: BATCH_SIZE });
  await waitFor(async () => (await capacityState()).capacity < TOTAL - 4 * BATCH_SIZE, 60_000, 'cleanup to delete some batches');
  const atKill = await capacityState();
  await kill(t, q.first, 'mid-cleanup', atKill);
  assert.ok(atKill.capacity > 0, `the kill must land mid-cleanup (${atKill.capacity} capacity rows left)`);
  // Each batch goes with its ledger entry in one transaction: never a ledger entry over missing rows.
  assert.equal(atKill.ledgerBatches * BATCH_SIZE, atKill.capacity);

  await q.spawn();
  const done = await result(q.config, handle);
  const after = await capacityState();
  t.diagnostic(`before ${JSON.stringify(before)}; after ${JSON.stringify(after)}`);
  assert.equal(done.verified, true);
  assert.deepEqual(
    { capacity: after.capacity, ledgerBatches: after.ledgerBatches, seeds: after.seeds, others: after.others, hnswIndexes: after.hnswIndexes, indexValid: after.indexValid },
    { capacity: 0, ledgerBatches: 0, seeds: before.seeds, others: before.others, hnswIndexes: 1, indexValid: true },
  );
});

test('PostgreSQL restarted (pg_ctl restart -m fast) mid-population: the run completes with exact rows', async (t) => {
  const q = await workerQueue('fault-pgrestart');
  const runKey = uniqueName('fault-pgrestart');
  const handle = await startWorkflow(q.config, capacityPopulation, { total: TOTAL, batchSize: BATCH_SIZE, runKey, clusters: 50 });
  await waitFor(async () => (await capacityScalar<number>('SELECT count(*)::int FROM capacity_batches WHERE run_key = $1', [runKey])) >= 4, 60_000, 'some batches');
  const beforeRows = await capacityScalar<number>(`SELECT count(*)::int FROM traces WHERE title LIKE 'Capacity trace%'`);
  const restart = await run('bash', ['scripts/stack/pg-restart.sh'], {}, 90_000);
  assert.equal(restart.code, 0, restart.stderr);
  t.diagnostic(`PostgreSQL restarted with ${beforeRows}/${TOTAL} rows loaded`);
  assert.ok(beforeRows < TOTAL, `the restart must land mid-run (${beforeRows} rows)`);

  const done = await result(q.config, handle);
  assert.equal(q.first.child.exitCode, null, `the worker survives the restart:\n${q.first.output()}`);
  t.diagnostic(`after: ${done.rowsPresent} rows present, ${done.rowsInserted} inserted, ${done.rowsAlreadyPresent} found committed on a retry`);
  assert.equal(done.rowsPresent, TOTAL);
  assert.equal(done.rowsInserted + done.rowsAlreadyPresent, TOTAL);
  await assertExactRun(runKey, TOTAL);
});
