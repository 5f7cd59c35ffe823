/**
 * Faults beyond population's own (durability.test.ts): the worker SIGKILLed during the embedding
 * backfill, the index build and the cleanup. Each run is finished by a fresh worker and must end with
 * exact counts read from the rows themselves. PostgreSQL restarted mid-population is
 * pg-restart.test.ts, which runs alone.
 */
import { after, afterEach, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { LOCAL_MODEL_ID } from '../../src/embeddings/local.js';
import { removeAllCapacityData } from '../helpers/capacity.js';
import { startWorkflow, uniqueName } from '../helpers/env.js';
import { capacityCleanup } from '../../src/workflows/capacity-cleanup.js';
import { embeddingReadiness } from '../../src/workflows/embedding-readiness.js';
import { indexBuild } from '../../src/workflows/index-build.js';
import { seedImport } from '../../src/workflows/seed-import.js';
import { capacityScalar, closeTestPool, scalar, waitFor } from '../helpers/db.js';
import {
  assertExactRun, capacityState, FAULT_BATCH_SIZE as BATCH_SIZE, FAULT_TOTAL as TOTAL, killFaultWorkers, populate, result, workerQueue,
} from '../helpers/faults.js';
import { deleteSeeds, SEED_COUNT, seedStats } from '../helpers/seeds.js';
import type { WorkerProcess } from '../helpers/worker-process.js';

// One task queue for the file, served by one worker process at a time: each test SIGKILLs it and
// starts the fresh worker that finishes the test's run and is the next test's victim.
let q: Awaited<ReturnType<typeof workerQueue>>;
let current: WorkerProcess;

before(async () => {
  await removeAllCapacityData();
  q = await workerQueue('fault');
  current = q.first;
});
// Each test starts from a capacity database without capacity rows, so its counts are its own.
afterEach(() => removeAllCapacityData());
after(async () => {
  await killFaultWorkers();
  await removeAllCapacityData();
  await closeTestPool();
});

/** SIGKILLs the worker serving the queue and starts a fresh one in its place. */
async function killAndReplace(t: TestContext, what: string, counts: unknown): Promise<void> {
  await current.kill('SIGKILL');
  t.diagnostic(`SIGKILL ${what}: ${JSON.stringify(counts)}`);
  current = await q.spawn();
}

test('worker SIGKILLed during the embedding backfill: a fresh worker finishes, every seed embedded, none pending', async (t) => {
  await deleteSeeds();
  t.after(deleteSeeds);
  await result(q.config, await startWorkflow(q.config, seedImport, {}));
  assert.deepEqual(await seedStats(), { rows: SEED_COUNT, distinctKeys: SEED_COUNT, embedded: 0 });

  // Five rows a transaction on one lane: 66 batches, long enough for the kill to land mid-backfill.
  const handle = await startWorkflow(q.config, embeddingReadiness, { target: 'seeds', batchSize: 5, lanes: 1 });
  await waitFor(async () => (await seedStats()).embedded >= 20, 60_000, 'the backfill to embed some seeds');
  const atKill = await seedStats();
  await killAndReplace(t, 'mid-backfill', atKill);
  assert.ok(atKill.embedded < SEED_COUNT, `the kill must land mid-backfill (${atKill.embedded} embedded)`);

  const done = await result(q.config, handle);
  const after = await seedStats();
  t.diagnostic(`before the kill ${atKill.embedded}/${SEED_COUNT} embedded; after ${after.embedded}/${after.rows}`);
  assert.deepEqual(after, { rows: SEED_COUNT, distinctKeys: SEED_COUNT, embedded: SEED_COUNT });
  assert.equal(await scalar<number>('SELECT count(*)::int FROM traces WHERE is_seed AND embedding_model_id = $1', [LOCAL_MODEL_ID]), SEED_COUNT);
  assert.equal(done.pending, 0);
});

test('worker SIGKILLed during the index build: the server aborts the orphaned build, a fresh worker builds one valid index', async (t) => {
  const runKey = uniqueName('fault-index');
  await populate(q.config, runKey);
  assert.equal((await capacityState()).hnswIndexes, 0, 'population dropped the index for the load');

  const handle = await startWorkflow(q.config, indexBuild, { prewarm: false });
  await waitFor(async () => (await capacityScalar<number>(
    `SELECT count(*)::int FROM pg_stat_progress_create_index WHERE datname = current_database()`,
  )) > 0, 60_000, 'the index build to start');
  const atKill = await capacityState();
  await killAndReplace(t, 'mid-build', atKill);

  const report = await result(q.config, handle);
  const after = await capacityState();
  t.diagnostic(`after: ${JSON.stringify(after)}; the retry ${report.replaced === 'invalid' ? 'dropped the invalid leftover and ' : ''}built in ${report.buildSeconds} s`);
  assert.equal(report.usedByPlanner, true);
  assert.deepEqual({ hnswIndexes: after.hnswIndexes, indexValid: after.indexValid, capacity: after.capacity }, { hnswIndexes: 1, indexValid: true, capacity: TOTAL });
  await assertExactRun(runKey, TOTAL);
});

test('worker SIGKILLed during cleanup: a fresh worker finishes, no capacity row or ledger entry left, seeds untouched', async (t) => {
  const runKey = uniqueName('fault-cleanup');
  await populate(q.config, runKey);
  const before = await capacityState();
  assert.equal(before.capacity, TOTAL);

  const handle = await startWorkflow(q.config, capacityCleanup, { batchSize: BATCH_SIZE });
  await waitFor(async () => (await capacityState()).capacity < TOTAL - 4 * BATCH_SIZE, 60_000, 'cleanup to delete some batches');
  const atKill = await capacityState();
  await killAndReplace(t, 'mid-cleanup', atKill);
  assert.ok(atKill.capacity > 0, `the kill must land mid-cleanup (${atKill.capacity} capacity rows left)`);
  // Each batch goes with its ledger entry in one transaction: never a ledger entry over missing rows.
  assert.equal(atKill.ledgerBatches * BATCH_SIZE, atKill.capacity);

  const done = await result(q.config, handle);
  const after = await capacityState();
  t.diagnostic(`before ${JSON.stringify(before)}; after ${JSON.stringify(after)}`);
  assert.equal(done.verified, true);
  assert.deepEqual(
    { capacity: after.capacity, ledgerBatches: after.ledgerBatches, seeds: after.seeds, others: after.others, hnswIndexes: after.hnswIndexes, indexValid: after.indexValid },
    { capacity: 0, ledgerBatches: 0, seeds: before.seeds, others: before.others, hnswIndexes: 1, indexValid: true },
  );
});
