import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CapacityCleanupResult } from '../../src/workflows/capacity-cleanup.js';
import type { CapacityPopulationResult } from '../../src/workflows/capacity-population.js';
import { runCliInProcess as runCli } from '../helpers/cli-in-process.js';
import { capacityScalar, closeTestPool } from '../helpers/db.js';
import { startWorker, testConfig, uniqueName } from '../helpers/env.js';

const capacityRows = () =>
  capacityScalar<number>(`SELECT count(*)::int FROM traces t JOIN users u ON u.id = t.contributor_id WHERE u.email = 'capacity-test@commontrace.internal'`);

test('capacity populate, index and cleanup through the CLI', async (t) => {
  const config = testConfig();
  const worker = await startWorker(config);
  t.after(async () => {
    await worker.stop();
    await closeTestPool();
  });
  const env = { TEMPORAL_TASK_QUEUE: config.temporal.taskQueue };
  const runKey = uniqueName('cli-cap');

  const populate = await runCli(
    ['capacity', 'populate', '--total', '5000', '--batch-size', '1250', '--concurrency', '2', '--run-key', runKey, '--json', '--wait-worker', '30'], env,
  );
  assert.equal(populate.code, 0, populate.stderr);
  const result = JSON.parse(populate.stdout) as CapacityPopulationResult & { workflowId: string };
  assert.match(result.workflowId, /^capacity-population-/);
  assert.equal(result.runKey, runKey);
  assert.equal(result.batches, 4);
  assert.equal(result.rowsInserted, 5000);
  assert.equal(result.ledgerRows, 5000);
  assert.equal(await capacityRows(), 5000);

  // (5,000 rows: below a few thousand the planner rightly prefers a sequential scan at ef_search 128.)
  // Population dropped the HNSW index; `capacity index` builds it back and reports on it.
  const index = await runCli(['capacity', 'index', '--wait-worker', '30'], env);
  assert.equal(index.code, 0, index.stderr);
  assert.match(index.stdout, /^capacity index: OK$/m);
  assert.match(index.stdout, /^built\s+yes, [\d.]+ s \(after a [\d.]+ s VACUUM\)$/m, 'the populate dropped the HNSW index, so the build VACUUMs first');
  assert.match(index.stdout, /^index size \/ shared_buffers\s+[\d.]+ [KMG]?i?B \/ [\d.]+ [KMG]?i?B \(fits\)$/m);
  assert.match(index.stdout, /^planner uses the index\s+yes$/m);

  const cleanup = await runCli(['capacity', 'cleanup', '--wait-worker', '30'], env);
  assert.equal(cleanup.code, 0, cleanup.stderr);
  assert.match(cleanup.stdout, /^capacity cleanup: verified — 5000 capacity rows deleted in \d+ transactions/m);
  assert.match(cleanup.stdout, /capacity 5000 → 0, seeds (\d+) → \1, other traces (\d+) → \2/);
  assert.equal(await capacityRows(), 0);
});

test('with APP_ENV=production on the worker, populate and cleanup exit 1 with the refusal, unless overridden', async (t) => {
  const config = { ...testConfig(), appEnv: 'production' as const };
  const worker = await startWorker(config);
  t.after(async () => {
    await worker.stop();
    await closeTestPool();
  });
  const env = { TEMPORAL_TASK_QUEUE: config.temporal.taskQueue };

  const populate = await runCli(['capacity', 'populate', '--total', '100', '--batch-size', '50', '--wait-worker', '30'], env);
  assert.equal(populate.code, 1);
  assert.match(populate.stderr, /capacityPopulation capacity-population-\S+ failed: Refusing to populate capacity data: APP_ENV=production.*--allow-production/);

  const cleanup = await runCli(['capacity', 'cleanup', '--wait-worker', '30'], env);
  assert.equal(cleanup.code, 1);
  assert.match(cleanup.stderr, /capacityCleanup capacity-cleanup-\S+ failed: Refusing to delete capacity data: APP_ENV=production.*--allow-production/);
  assert.equal(await capacityRows(), 0, 'the refused population wrote nothing');

  const overridden = await runCli(['capacity', 'cleanup', '--allow-production', '--json', '--wait-worker', '30'], env);
  assert.equal(overridden.code, 0, overridden.stderr);
  const result = JSON.parse(overridden.stdout) as CapacityCleanupResult;
  assert.equal(result.verified, true);
  assert.equal(result.deleted, 0);
});
