import { executeChild, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { IndexBuildReport } from '../capacity/index-build.js';
import type { IndexType } from '../db/index-types.js';
import type { RunwayMeasurement } from '../benchmark/runway.js';
import type { BenchmarkReport } from '../report/schema.js';
import { CAPACITY_LIMITS, finiteInRange, intInRange, runKeyOf } from './capacity-input.js';
import { capacityPopulation, CAPACITY_DEFAULTS, defaultRunKey, type CapacityPopulationResult } from './capacity-population.js';
import { indexBuild } from './index-build.js';
import { searchBenchmark, type SearchBenchmarkInput } from './search-benchmark.js';
import { ProgressTracker } from './progress.js';
import { clustersFor } from './launch-criteria.js';
import { ReadinessAttributes } from './readiness-attributes.js';

export interface CapacityRecheckInput {
  traces?: number;
  runKey?: string;
  /** Flag a p99 regression above this fraction against the previous run. */
  maxP99Regression?: number;
  /** Flag a recall@10 drop above this. */
  maxRecallDrop?: number;
  /**
   * The benchmark's input over the re-check's dataset. Its HTTP phase runs on the worker-served API
   * unless `http` is given (null skips it): the launch judges HTTP p99, and the capacity runway
   * projects it, so the nightly re-check measures it too.
   */
  benchmark?: SearchBenchmarkInput;
  /** The HNSW index the re-check builds (if missing) and measures; default benchmark.indexType, else DEFAULT_INDEX_TYPE. */
  indexType?: IndexType;
}

export interface CapacityRecheckResult {
  traces: number;
  runKey: string;
  /** Whether the capacity data was already there (the usual nightly case) or had to be loaded. */
  reusedCapacity: boolean;
  population: CapacityPopulationResult | null;
  index: IndexBuildReport;
  benchmark: { runId: string; name: string; verdict: 'pass' | 'fail'; reportHtml: string };
  previous: { runId: string; name: string } | null;
  regressions: { metric: string; a: number | null; b: number | null; flag: string | null }[];
  flagged: boolean;
}

/** Rechecks started before the runway sample replay without it. */
export const RUNWAY_SAMPLE_PATCH = 'capacity-runway-sample';
/** Rechecks started before their benchmark had an HTTP phase by default replay without it. */
export const RECHECK_HTTP_PATCH = 'capacity-recheck-http';

const { capacityLedger, compareWithPreviousRun, recordRunwaySample } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumAttempts: 10 },
});

/**
 * What one recheck measured, from the figures its children already report (no re-measuring); its
 * activity adds production's size (the live rows) when it stores them.
 */
export function runwaySampleOf(index: IndexBuildReport, report: BenchmarkReport): RunwayMeasurement {
  const production = report.serial.find((s) => s.efSearch === report.method.productionEfSearch);
  return {
    measuredAt: report.createdAt,
    capacityRows: index.rows,
    indexBytes: index.indexBytes,
    sharedBuffersBytes: index.sharedBuffersBytes,
    estimatedGraphBytes: index.estimatedGraphBytes,
    maintenanceWorkMemBytes: index.maintenanceWorkMemCapBytes,
    buildSeconds: index.built ? index.buildSeconds : null,
    p99Ms: production?.latency.p99 ?? null,
    httpP99Ms: report.http?.latency.p99 ?? null,
    recallAt10: production?.recall.mean ?? null,
  };
}

/**
 * What the nightly schedule runs: reuse the capacity data when all its rows are there (counted in
 * the table, not taken from the ledger; repopulate when they are not), verify the index, benchmark,
 * and compare with the previous run on the same dataset. A regression is flagged in the result and
 * as ReadinessStage = "regression" for the UI list.
 */
export async function capacityRecheck(input: CapacityRecheckInput = {}): Promise<CapacityRecheckResult> {
  const { workflowId } = workflowInfo();
  const traces = intInRange('traces', input.traces ?? CAPACITY_DEFAULTS.total, CAPACITY_LIMITS.total);
  if (input.maxP99Regression !== undefined) finiteInRange('maxP99Regression', input.maxP99Regression, 0);
  if (input.maxRecallDrop !== undefined) finiteInRange('maxRecallDrop', input.maxRecallDrop, 0, 1);
  const clusters = clustersFor(traces);
  const runKey = runKeyOf(input.runKey) ?? defaultRunKey({ ...CAPACITY_DEFAULTS, total: traces, clusters });
  const attributes = new ReadinessAttributes();
  const progress = new ProgressTracker('capacityRecheck', 4, 'steps');
  attributes.set('recheck', 0);

  const present = await capacityLedger({ runKey, total: traces });
  const reusedCapacity = present.rowsPresent === traces;
  let population: CapacityPopulationResult | null = null;
  if (!reusedCapacity) {
    population = await executeChild(capacityPopulation, {
      workflowId: `${workflowId}/capacityPopulation`,
      args: [{ total: traces, runKey, clusters }],
      staticSummary: `Repopulate ${traces.toLocaleString('en-US')} capacity traces for the re-check`,
    });
  }
  progress.advance(1, reusedCapacity ? 'capacity data reused' : 'capacity data loaded');
  attributes.set('recheck', 25);

  // One type for both: a benchmark of another type than the one built would measure a missing index.
  const indexType = input.indexType ?? input.benchmark?.indexType;
  const index = await executeChild(indexBuild, {
    workflowId: `${workflowId}/indexBuild`,
    args: [indexType ? { indexType } : {}],
    staticSummary: 'Verify (or build) the HNSW index',
  });
  progress.advance(1);
  attributes.set('recheck', 50);

  const httpByDefault = patched(RECHECK_HTTP_PATCH) ? { http: {} } : {};
  const bench = await executeChild(searchBenchmark, {
    workflowId: `${workflowId}/searchBenchmark`,
    args: [{ dataset: { total: traces, runKey, clusters }, ...httpByDefault, ...input.benchmark, ...(indexType && { indexType }) }],
    staticSummary: 'Nightly search benchmark',
  });
  progress.advance(1);
  attributes.set('recheck', 75);

  const comparison = await compareWithPreviousRun.executeWithOptions({ summary: 'compare with the previous run' }, [
    {
      runId: bench.runId,
      ...(input.maxP99Regression !== undefined && { p99RegressionPct: input.maxP99Regression * 100 }),
      ...(input.maxRecallDrop !== undefined && { recallDrop: input.maxRecallDrop }),
    },
  ]);
  if (patched(RUNWAY_SAMPLE_PATCH)) {
    await recordRunwaySample.executeWithOptions({ summary: 'store the capacity runway figures' }, [
      { ...runwaySampleOf(index, bench.report), workflowId, benchmarkRunId: bench.runId },
    ]);
  }
  progress.advance(1);
  attributes.set(comparison.flagged ? 'regression' : 'recheck-ok', 100);
  progress.publish(`Capacity re-check — ${traces.toLocaleString('en-US')} traces`, [
    ['capacity data', reusedCapacity ? 'reused' : `loaded (${population?.rowsInserted ?? 0} rows)`],
    ['benchmark', `${bench.verdict} (${bench.name})`],
    ['compared with', comparison.previous?.name ?? 'no earlier run'],
    ['regressions', comparison.regressions.map((r) => r.flag).join('; ') || 'none'],
  ]);
  progress.finish(comparison.flagged ? 'failed' : 'succeeded', comparison.flagged ? 'regression flagged' : undefined);
  return {
    traces,
    runKey,
    reusedCapacity,
    population,
    index,
    benchmark: { runId: bench.runId, name: bench.name, verdict: bench.verdict, reportHtml: bench.files.html },
    previous: comparison.previous,
    regressions: comparison.regressions.map(({ metric, a, b, flag }) => ({ metric, a, b, flag })),
    flagged: comparison.flagged,
  };
}
