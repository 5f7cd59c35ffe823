import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CapacityPopulationResult } from '../../../src/workflows/capacity-population.js';
import { DEFAULT_LAUNCH_THRESHOLDS, evaluateCriteria, summarizeStage } from '../../../src/workflows/launch-criteria.js';
import { STAGE_WORKFLOWS } from '../../../src/workflows/launch-readiness.js';
import { LAUNCH_STAGES, type StageRecord } from '../../../src/workflows/messages.js';
import type { IndexBuildReport } from '../../../src/capacity/index-build.js';

const stages: StageRecord[] = LAUNCH_STAGES.map((stage) => ({ stage, track: 'hardening', state: 'succeeded', workflowId: stage }));

function population(rowsPresent: number, ledgerRows: number): CapacityPopulationResult {
  return {
    runKey: 'capacity-2000x1536-b500-c20-s42-n0.05-random-trust10', total: 2_000, batches: 4, rowsInserted: 0, rowsAlreadyPresent: 2_000,
    batchesRepaired: 0, rowsPresent, ledgerRows, centres: 'random', droppedIndex: false, seconds: 1, rowsPerSecond: 0, megabytesPerSecond: 0,
  };
}

const capacityRows = (r: CapacityPopulationResult) =>
  evaluateCriteria(stages, { capacityPopulation: r }, DEFAULT_LAUNCH_THRESHOLDS, 2_000).find((c) => c.id === 'capacity-rows')!;

test('capacity-rows judges the rows counted in the table, never the ledger', () => {
  assert.deepEqual([capacityRows(population(2_000, 2_000)).passed, capacityRows(population(2_000, 2_000)).value], [true, '2000']);
  const emptied = capacityRows(population(0, 2_000));
  assert.deepEqual([emptied.passed, emptied.value], [false, '0 (ledger claims 2000)'], 'a full ledger over an empty table fails');
  const partial = capacityRows(population(1_300, 2_000));
  assert.deepEqual([partial.passed, partial.value], [false, '1300 (ledger claims 2000)']);
});

test("the launch's indexBuild line says how many parallel workers the build had and why, and the VACUUM before it", () => {
  const report = {
    built: true, buildSeconds: 12.5, indexBytes: 16 * 1048576, usedByPlanner: true, parallelWorkers: 0,
    parallelDisabledReason: 'pgvector 0.8.0 < 0.8.2: CVE-2026-3172',
  } as IndexBuildReport;
  assert.equal(summarizeStage('indexBuild', report), 'built in 12.5 s, 0 parallel workers (pgvector 0.8.0 < 0.8.2: CVE-2026-3172), 16 MiB, used: true');
  assert.equal(
    summarizeStage('indexBuild', { ...report, parallelWorkers: 1, parallelDisabledReason: null }),
    'built in 12.5 s, 1 parallel worker, 16 MiB, used: true',
  );
  assert.equal(
    summarizeStage('indexBuild', { ...report, vacuumSeconds: 0.72 }),
    'built in 12.5 s (after a 0.72 s VACUUM), 0 parallel workers (pgvector 0.8.0 < 0.8.2: CVE-2026-3172), 16 MiB, used: true',
  );
  assert.equal(summarizeStage('indexBuild', { ...report, vacuumSeconds: null }), summarizeStage('indexBuild', report), 'no VACUUM ran: nothing said');
});

test("each launch stage's child workflow is the function of the stage's name (its workflow type)", () => {
  for (const stage of LAUNCH_STAGES) assert.equal(STAGE_WORKFLOWS[stage].name, stage);
});
