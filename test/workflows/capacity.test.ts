import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { rootCauseMessage } from '../../src/temporal.js';
import { executeWorkflow, startWorker, testConfig, uniqueName, withClient } from '../helpers/env.js';
import { capacityCleanup } from '../../src/workflows/capacity-cleanup.js';
import { capacityScalar, capacityTestPool, closeTestPool, testPool, CAPACITY_INDEX } from '../helpers/db.js';
import { assertCapacityTarget, isProductionDatabase } from '../../src/db/capacity-database.js';
import { capacityPopulation } from '../../src/workflows/capacity-population.js';
import { indexBuild } from '../../src/workflows/index-build.js';
import { DEFAULT_INDEX_TYPE, estimateHnswGraphBytes } from '../../src/db/hnsw.js';
import { EMBEDDING_DIMENSIONS } from '../../src/db/constants.js';

const config = testConfig();
let worker: Awaited<ReturnType<typeof startWorker>>;

before(async () => {
  worker = await startWorker(config);
});
after(async () => {
  await worker.stop();
  await closeTestPool();
});

async function capacityRowStats(runKeyPrefix = 'Capacity trace') {
  const { rows } = await capacityTestPool().query<{ n: number; distinct_ids: number; distinct_titles: number; min_norm: number; max_norm: number }>(
    `SELECT count(*)::int AS n, count(DISTINCT t.id)::int AS distinct_ids,
            count(DISTINCT split_part(t.title, ':', 1))::int AS distinct_titles,
            min(vector_norm(t.embedding)) AS min_norm, max(vector_norm(t.embedding)) AS max_norm
       FROM traces t JOIN users u ON u.id = t.contributor_id
      WHERE u.email = 'capacity-test@commontrace.internal' AND t.title LIKE $1 || '%'`,
    [runKeyPrefix],
  );
  return rows[0]!;
}

test('capacityPopulation loads exact rows once; the same runKey again inserts 0', async () => {
  const runKey = uniqueName('cap-happy');
  const first = await executeWorkflow(config, capacityPopulation, { total: 5_000, batchSize: 500, runKey, concurrency: 2, clusters: 50 });
  assert.equal(first.rowsInserted, 5_000);
  assert.equal(first.rowsAlreadyPresent, 0);
  assert.equal(first.batches, 10);
  assert.equal(first.ledgerRows, 5_000);
  assert.equal(first.rowsPresent, 5_000);
  assert.equal(first.batchesRepaired, 0);

  const ledger = await capacityTestPool().query<{ batch_index: number; rows: number }>(
    'SELECT batch_index, rows FROM capacity_batches WHERE run_key = $1 ORDER BY batch_index', [runKey],
  );
  assert.deepEqual(ledger.rows.map((r) => r.batch_index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.ok(ledger.rows.every((r) => r.rows === 500));

  const stats = await capacityRowStats();
  assert.equal(stats.n, 5_000);
  assert.equal(stats.distinct_ids, 5_000, 'no duplicate row ids');
  assert.equal(stats.distinct_titles, 5_000, 'no duplicate row keys (global index in the title)');
  assert.ok(Math.abs(stats.min_norm - 1) < 1e-4 && Math.abs(stats.max_norm - 1) < 1e-4, `unit vectors, got ${stats.min_norm}..${stats.max_norm}`);

  const again = await executeWorkflow(config, capacityPopulation, { total: 5_000, batchSize: 500, runKey, concurrency: 2, clusters: 50 });
  assert.equal(again.rowsInserted, 0);
  assert.equal(again.rowsAlreadyPresent, 5_000);
  assert.equal(again.rowsPresent, 5_000);
  assert.equal((await capacityRowStats()).n, 5_000);
});

test('indexBuild creates the HNSW index after the load, and EXPLAIN uses it', async () => {
  const report = await executeWorkflow(config, indexBuild, { rebuild: true, prewarm: true });
  assert.equal(report.built, true);
  assert.equal(report.usedByPlanner, true);
  assert.ok(report.indexBytes > 0);
  assert.ok(report.sharedBuffersBytes > 0);
  assert.ok(report.buildSeconds >= 0);
  assert.equal(report.m, 16);
  assert.equal(report.efConstruction, 64);
  assert.equal(report.replaced, null, 'population dropped the index, so there was nothing to replace');
  assert.equal(report.parallelWorkers, 0, 'pgvector 0.8.0 has the parallel-build overflow');
  assert.equal(report.parallelDisabledReason, 'pgvector 0.8.0 < 0.8.2: CVE-2026-3172');
  assert.equal(await capacityScalar<boolean>('SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)', [CAPACITY_INDEX]), true);

  const again = await executeWorkflow(config, indexBuild, {});
  assert.equal(again.built, false, 'a valid index is verified, not rebuilt');
  assert.equal(again.maintenanceWorkMemCapBytes, 2_048 * 1024 * 1024, 'indexBuild\'s default cap, 2,048 MB');
  assert.equal(again.usedByPlanner, true);
});

test('a cap below the graph estimate is reported as a warning', async () => {
  // 1 MiB under pgvector's estimate for these rows: the report warns, and the build still succeeds.
  // (A far lower cap warns the same, but its build writes every graph page through the buffer cache.)
  const rows = await capacityScalar<number>('SELECT count(*)::int FROM traces WHERE embedding IS NOT NULL');
  const capMb = Math.ceil(estimateHnswGraphBytes(rows, EMBEDDING_DIMENSIONS, DEFAULT_INDEX_TYPE) / 2 ** 20) - 1;
  const report = await executeWorkflow(config, indexBuild, { indexType: DEFAULT_INDEX_TYPE, rebuild: true, maintenanceWorkMemCapMb: capMb, prewarm: false });
  assert.ok(report.warnings.some((w) => /exceeds the maintenance_work_mem cap/.test(w)), report.warnings.join('\n'));
  assert.equal(report.maintenanceWorkMemCapBytes, capMb * 1_048_576);
  assert.equal(report.replaced, 'valid', 'a valid index dropped and built again (CONCURRENTLY)');
  assert.equal(report.usedByPlanner, true);
});

test('capacityCleanup removes exactly the capacity rows and leaves seeds and user traces alone', async () => {
  const pool = capacityTestPool();
  const user = await pool.query<{ id: string }>(
    `INSERT INTO users (email) VALUES ($1) RETURNING id`, [`${uniqueName('someone')}@test.invalid`],
  );
  await pool.query(`INSERT INTO traces (title, context_text, solution_text, contributor_id) VALUES ('user trace', 'c', 's', $1)`, [user.rows[0]!.id]);
  const othersBefore = await capacityScalar<number>(`SELECT count(*)::int FROM traces t JOIN users u ON u.id = t.contributor_id WHERE u.email <> 'capacity-test@commontrace.internal'`);

  const result = await executeWorkflow(config, capacityCleanup, { batchSize: 2_000 });
  assert.equal(result.verified, true);
  assert.equal(result.before.capacity, 5_000);
  assert.equal(result.after.capacity, 0);
  assert.equal(result.deleted, 5_000);
  assert.equal(result.transactions, 4, '3 transactions of whole 500-row ledger batches, up to 2,000 rows each (the last partial), and one empty one');
  assert.equal(result.ledgerRowsDeleted, 10);
  assert.equal(result.incompleteLedgerBatches, 0);
  assert.equal(result.orphanRowsDeleted, 0);
  assert.equal(result.index.droppedBeforeDelete, true, 'pgvector 0.8.0: no HNSW vacuum after the bulk delete');
  assert.equal(result.index.rebuilt, true);
  assert.equal(result.reindexed, true);
  assert.equal(await capacityScalar<boolean>('SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)', [CAPACITY_INDEX]), true);
  assert.equal(result.after.seeds + result.after.others, othersBefore);
  assert.equal(await capacityScalar<number>(`SELECT count(*)::int FROM users WHERE email = 'capacity-test@commontrace.internal'`), 0);
  assert.equal(await capacityScalar<number>('SELECT count(*)::int FROM capacity_batches'), 0);
  await pool.query('DELETE FROM users WHERE id = $1', [user.rows[0]!.id]);
});

test('with APP_ENV=production, population and cleanup refuse without the override', async (t) => {
  const prodConfig = { ...testConfig(), appEnv: 'production' as const };
  const prodWorker = await startWorker(prodConfig);
  t.after(() => prodWorker.stop());
  await withClient(prodConfig, async (client) => {
    for (const [type, args] of [['capacityPopulation', [{ total: 100, batchSize: 50 }]], ['capacityCleanup', [{}]]] as const) {
      await assert.rejects(
        client.workflow.execute(type, { taskQueue: prodConfig.temporal.taskQueue, workflowId: uniqueName(type), args: [...args] }),
        (err: unknown) => {
          assert.ok(err instanceof WorkflowFailedError);
          assert.match(rootCauseMessage(err), /Refusing to (populate|delete) capacity data: APP_ENV=production.*--allow-production/);
          return true;
        },
      );
    }
  });
  assert.equal(await capacityScalar<number>(`SELECT count(*)::int FROM traces t JOIN users u ON u.id = t.contributor_id WHERE u.email = 'capacity-test@commontrace.internal'`), 0);
});

test('with APP_ENV=production, `capacity index --rebuild` refuses without the override', async (t) => {
  const prodConfig = { ...testConfig(), appEnv: 'production' as const };
  const prodWorker = await startWorker(prodConfig);
  t.after(() => prodWorker.stop());
  await withClient(prodConfig, async (client) => {
    await assert.rejects(
      client.workflow.execute(indexBuild, { taskQueue: prodConfig.temporal.taskQueue, workflowId: uniqueName('indexBuild'), args: [{ rebuild: true }] }),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.match(rootCauseMessage(err), /Refusing to rebuild the HNSW index: APP_ENV=production.*--allow-production/);
        return true;
      },
    );
    // Verifying (or building a missing index) is not destructive and needs no override.
    const verified = (await client.workflow.execute(indexBuild, {
      taskQueue: prodConfig.temporal.taskQueue, workflowId: uniqueName('indexBuild'), args: [{ prewarm: false }],
    }));
    assert.equal(verified.built, false, 'the valid index was verified, not rebuilt');
  });
  assert.equal(await capacityScalar<boolean>('SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)', [CAPACITY_INDEX]), true);
});

test('the guard identifies the target by name and system identifier: a listed production database is refused outside APP_ENV=production too', async (t) => {
  const systemIdentifier = await capacityScalar<string>('SELECT system_identifier::text FROM pg_control_system()');
  const name = await capacityScalar<string>('SELECT current_database()');
  const listed = { ...testConfig(), productionDatabases: [{ name: 'some-other-db' }, { name, systemIdentifier }] };
  assert.equal(listed.appEnv, 'development');
  const listedWorker = await startWorker(listed);
  t.after(() => listedWorker.stop());
  await withClient(listed, async (client) => {
    await assert.rejects(
      client.workflow.execute(capacityPopulation, { taskQueue: listed.temporal.taskQueue, workflowId: uniqueName('guard'), args: [{ total: 100, batchSize: 50, runKey: uniqueName('guard') }] }),
      (err: unknown) => {
        assert.match(rootCauseMessage(err), new RegExp(`Refusing to populate capacity data: PRODUCTION_DATABASES lists the capacity database ${name} \\(system ${systemIdentifier}\\).*--allow-production`));
        return true;
      },
    );
  });
  // Another server's database of the same name is not this one.
  assert.equal(isProductionDatabase({ name, systemIdentifier }, [{ name, systemIdentifier: '1' }]), undefined);
  assert.equal(await capacityScalar<number>(`SELECT count(*)::int FROM traces t JOIN users u ON u.id = t.contributor_id WHERE u.email = 'capacity-test@commontrace.internal'`), 0);

  // A capacity URL that reaches the live database under another spelling is caught by identity,
  // whatever the override says.
  const live = { live: testPool(), capacity: testPool() };
  await assert.rejects(assertCapacityTarget(testConfig(), live, true, 'populate capacity data'), /the capacity database .* is the live database/);
});
