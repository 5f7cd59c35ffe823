/**
 * The rows are the truth, the ledger only a claim: a ledger entry whose rows went missing is written
 * again, a cleanup stopped between transactions never leaves a ledger entry over missing rows, and
 * the index build runs without parallel workers on pgvector 0.8.0 and replaces an INVALID index.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { hnswCreateConcurrentlySql } from '../../src/capacity/index-build.js';
import { DEFAULT_INDEX_TYPE } from '../../src/db/hnsw.js';
import { capacityRowId } from '../../src/capacity/generator.js';
import { deleteCapacityStep } from '../../src/capacity/cleanup.js';
import { removeAllCapacityData } from '../helpers/capacity.js';
import { executeWorkflow, startWorker, testConfig, uniqueName } from '../helpers/env.js';
import { capacityCleanup } from '../../src/workflows/capacity-cleanup.js';
import { capacityPopulation } from '../../src/workflows/capacity-population.js';
import { indexBuild } from '../../src/workflows/index-build.js';
import { capacityScalar, capacityTestPool, closeTestPool, CAPACITY_INDEX } from '../helpers/db.js';

const TOTAL = 2_000;
const BATCH = 500;
const config = testConfig();
const runKey = uniqueName('cap-truth');
const args = { total: TOTAL, batchSize: BATCH, runKey, concurrency: 2, clusters: 20 };
let worker: Awaited<ReturnType<typeof startWorker>>;


before(async () => {
  await removeAllCapacityData();
  worker = await startWorker(config);
});
after(async () => {
  try {
    await removeAllCapacityData();
    // Population drops the HNSW index; the next test file expects it back.
    await executeWorkflow(config, indexBuild, { prewarm: false });
  } finally {
    await worker.stop();
    await closeTestPool();
  }
});

const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => capacityRowId(runKey, from + i));

/** The run's rows, counted by their ids: rows present and distinct ids among them. */
async function runRows(): Promise<{ n: number; distinct: number }> {
  const { rows } = await capacityTestPool().query<{ n: number; distinct: number }>(
    'SELECT count(*)::int AS n, count(DISTINCT id)::int AS distinct FROM traces WHERE id = ANY($1::uuid[])', [ids(0, TOTAL)],
  );
  return rows[0]!;
}

/** Every ledger entry of the run with the rows it claims that are really there. */
async function ledgerVersusRows(): Promise<{ batch: number; claimed: number; present: number }[]> {
  const { rows } = await capacityTestPool().query<{ batch_index: number; rows: number }>(
    'SELECT batch_index, rows FROM capacity_batches WHERE run_key = $1 ORDER BY batch_index', [runKey],
  );
  return Promise.all(rows.map(async (r) => ({
    batch: r.batch_index,
    claimed: r.rows,
    present: await capacityScalar<number>('SELECT count(*)::int FROM traces WHERE id = ANY($1::uuid[])', [ids(r.batch_index * BATCH, r.batch_index * BATCH + r.rows)]),
  })));
}

async function batchContent(batch: number): Promise<string[]> {
  const { rows } = await capacityTestPool().query<{ line: string }>(
    `SELECT id || ' ' || title || ' ' || trust_score || ' ' || md5(embedding::text) AS line FROM traces WHERE id = ANY($1::uuid[]) ORDER BY id`,
    [ids(batch * BATCH, (batch + 1) * BATCH)],
  );
  return rows.map((r) => r.line);
}

test('a ledger entry whose rows were deleted behind its back: the next population writes exactly that batch again', async () => {
  const first = await executeWorkflow(config, capacityPopulation, args);
  assert.deepEqual([first.rowsInserted, first.rowsAlreadyPresent, first.batchesRepaired, first.rowsPresent, first.ledgerRows], [2_000, 0, 0, 2_000, 2_000]);
  const batch1 = await batchContent(1);
  assert.equal(batch1.length, 500);

  // Behind the ledger's back: all 500 rows of batch 1 and 200 of batch 3's 500.
  const { rowCount } = await capacityTestPool().query('DELETE FROM traces WHERE id = ANY($1::uuid[])', [[...ids(500, 1_000), ...ids(1_500, 1_700)]]);
  assert.equal(rowCount, 700);
  assert.deepEqual(await runRows(), { n: 1_300, distinct: 1_300 });
  assert.deepEqual((await ledgerVersusRows()).map((b) => b.claimed), [500, 500, 500, 500], 'the ledger still claims every batch');

  const second = await executeWorkflow(config, capacityPopulation, args);
  assert.equal(second.batchesRepaired, 2, 'batches 1 and 3, and only those');
  assert.equal(second.rowsInserted, 1_000, 'both batches written whole');
  assert.equal(second.rowsAlreadyPresent, 1_000, 'batches 0 and 2 reused');
  assert.equal(second.rowsPresent, 2_000);
  assert.equal(second.ledgerRows, 2_000);
  assert.deepEqual(await runRows(), { n: 2_000, distinct: 2_000 }, 'exact rows, no duplicate');
  assert.deepEqual(await ledgerVersusRows(), [0, 1, 2, 3].map((batch) => ({ batch, claimed: 500, present: 500 })));
  assert.deepEqual(await batchContent(1), batch1, 'the rewritten batch is the same rows');
});

test('indexBuild on pgvector 0.8.0 builds without parallel workers and says why; an INVALID index is dropped and rebuilt', async () => {
  const built = await executeWorkflow(config, indexBuild, { prewarm: false, parallelWorkers: 2 });
  assert.equal(built.built, true, 'population dropped the index');
  assert.equal(built.pgvectorVersion, '0.8.0');
  assert.equal(built.parallelWorkers, 0);
  assert.equal(built.parallelDisabledReason, 'pgvector 0.8.0 < 0.8.2: CVE-2026-3172');
  assert.ok(built.warnings.includes('built without parallel workers: pgvector 0.8.0 < 0.8.2: CVE-2026-3172'), built.warnings.join('\n'));
  assert.equal(built.replaced, null);

  // A concurrent build that fails (here: cancelled by a statement timeout) leaves an INVALID index.
  const pool = capacityTestPool();
  await pool.query(`DROP INDEX CONCURRENTLY ${CAPACITY_INDEX}`);
  const client = await pool.connect();
  try {
    await client.query(`SET statement_timeout = '200ms'`);
    await assert.rejects(client.query(hnswCreateConcurrentlySql(DEFAULT_INDEX_TYPE)), /statement timeout/);
  } finally {
    client.release(true);
  }
  assert.equal(await capacityScalar<boolean>('SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)', [CAPACITY_INDEX]), false);

  const repaired = await executeWorkflow(config, indexBuild, { prewarm: false });
  assert.equal(repaired.replaced, 'invalid');
  assert.equal(repaired.built, true);
  assert.equal(await capacityScalar<boolean>('SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)', [CAPACITY_INDEX]), true);
});

test('a cleanup stopped between transactions never leaves a ledger entry over missing rows', async () => {
  const pool = capacityTestPool();
  // The first transaction of a cleanup of 1,000 rows at a time, then the cleanup stops.
  const step = await deleteCapacityStep(pool, 1_000);
  assert.deepEqual(step, { rows: 1_000, ledgerBatches: 2, incompleteBatches: 0, orphanRows: 0 }, 'batches 3 and 2 with all their rows');
  assert.deepEqual(await ledgerVersusRows(), [0, 1].map((batch) => ({ batch, claimed: 500, present: 500 })), 'what the ledger still claims is all there');
  assert.deepEqual(await runRows(), { n: 1_000, distinct: 1_000 });

  // The next population writes exactly what is missing.
  const again = await executeWorkflow(config, capacityPopulation, args);
  assert.deepEqual([again.rowsInserted, again.rowsAlreadyPresent, again.batchesRepaired, again.rowsPresent], [1_000, 1_000, 0, 2_000]);
  assert.deepEqual(await runRows(), { n: 2_000, distinct: 2_000 });

  // Rows no ledger entry claims (an older run's), and a ledger entry over rows that are not there.
  await pool.query('DELETE FROM capacity_batches WHERE run_key = $1 AND batch_index = 0', [runKey]);
  const staleKey = uniqueName('cap-stale');
  await pool.query('INSERT INTO capacity_batches (run_key, batch_index, rows) VALUES ($1, 0, 500)', [staleKey]);
  await executeWorkflow(config, indexBuild, { prewarm: false });

  const cleanup = await executeWorkflow(config, capacityCleanup, { batchSize: 1_000 });
  assert.equal(cleanup.verified, true);
  assert.equal(cleanup.deleted, 2_000);
  assert.equal(cleanup.ledgerRowsDeleted, 4, 'batches 1, 2 and 3 of the run, and the stale entry');
  assert.equal(cleanup.incompleteLedgerBatches, 1, 'the stale entry had no rows');
  assert.equal(cleanup.orphanRowsDeleted, 500, "batch 0's rows, which no ledger entry claimed");
  assert.equal(cleanup.index.pgvectorVersion, '0.8.0');
  assert.equal(cleanup.index.droppedBeforeDelete, true);
  assert.match(cleanup.index.reason, /^pgvector 0\.8\.0 < 0\.8\.4: HNSW vacuum can corrupt the index; HNSW vacuum "graph not repaired": dropped before deleting 2000 vectors/);
  assert.equal(cleanup.index.rebuilt, true);
  assert.equal(await capacityScalar<boolean>('SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)', [CAPACITY_INDEX]), true);
  assert.deepEqual(await runRows(), { n: 0, distinct: 0 });
  assert.equal(await capacityScalar<number>('SELECT count(*)::int FROM capacity_batches'), 0);
});
