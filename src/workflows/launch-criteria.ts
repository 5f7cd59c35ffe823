/**
 * How launchReadiness turns stage results into launch criteria. Pure functions of the results, so
 * the verdict logic is replay-safe and unit-testable without a server.
 */
import type { IndexBuildReport } from '../capacity/index-build.js';
import { formatBytes } from '../bytes.js';
import { DEFAULT_THRESHOLDS, type BenchmarkCheck } from './benchmark-verdict.js';
import type { CapacityCleanupInput, CapacityCleanupResult } from './capacity-cleanup.js';
import type { CapacityPopulationInput, CapacityPopulationResult } from './capacity-population.js';
import type { EmbeddingReadinessInput, EmbeddingReadinessResult } from './embedding-readiness.js';
import type { FirstQuerySmokeInput, FirstQuerySmokeResult } from './first-query-smoke.js';
import { buildDuration, type IndexBuildInput } from './index-build.js';
import type { LaunchReadinessInput } from './launch-readiness.js';
import type { LaunchStage, StageRecord } from './messages.js';
import type { PreflightInput, PreflightReport } from './preflight.js';
import type { RateLimitValidationInput, RateLimitValidationResult } from './rate-limit-validation.js';
import type { SearchBenchmarkInput, SearchBenchmarkResult } from './search-benchmark.js';
import type { SeedImportInput, SeedImportResult } from './seed-import.js';

/**
 * Each stage's contract: the input its child workflow is started with and the result it returns.
 * launch-readiness.ts checks every stage's workflow function against it.
 */
export interface StageContracts {
  preflight: { input: PreflightInput; result: PreflightReport };
  seedImport: { input: SeedImportInput; result: SeedImportResult };
  embeddingReadiness: { input: EmbeddingReadinessInput; result: EmbeddingReadinessResult };
  firstQuerySmoke: { input: FirstQuerySmokeInput; result: FirstQuerySmokeResult };
  capacityPopulation: { input: CapacityPopulationInput; result: CapacityPopulationResult };
  indexBuild: { input: IndexBuildInput; result: IndexBuildReport };
  searchBenchmark: { input: SearchBenchmarkInput; result: SearchBenchmarkResult };
  rateLimitValidation: { input: RateLimitValidationInput; result: RateLimitValidationResult };
  capacityCleanup: { input: CapacityCleanupInput; result: CapacityCleanupResult };
}
export type StageInput<S extends LaunchStage> = StageContracts[S]['input'];
export type StageResult<S extends LaunchStage> = StageContracts[S]['result'];
/** The results of the stages that succeeded, each with its own type. */
export type StageResults = { [S in LaunchStage]?: StageResult<S> };

export interface LaunchThresholds {
  minSeedsEmbedded: number;
  minHitAt5: number;
  sqlP99Ms: number;
  httpP99Ms: number;
  minRecallAt10: number;
}

export const DEFAULT_LAUNCH_THRESHOLDS: LaunchThresholds = {
  minSeedsEmbedded: 200,
  minHitAt5: 0.9,
  sqlP99Ms: 50,
  httpP99Ms: 50,
  minRecallAt10: 0.95,
};

export interface LaunchCriterion {
  id: string;
  description: string;
  passed: boolean;
  value: string;
  threshold: string;
  /** The stage the figure comes from; a criterion whose stage did not run fails with that reason. */
  stage: LaunchStage;
}

/**
 * Clusters scale with the dataset (100 rows each, 1,000 at 100K as in the reference figures), so a
 * demo-scale run measures the same shape of data as the full run, just less of it.
 */
export function clustersFor(scale: number): number {
  return Math.max(10, Math.min(1_000, Math.round(scale / 100)));
}

/** The child input each stage gets, derived from the launch options and overridable per stage. */
export function stageInputs<S extends LaunchStage>(stage: S, input: LaunchReadinessInput, scale: number): StageInput<S> {
  const clusters = clustersFor(scale);
  // The index the launch builds, sizes its memory checks for and benchmarks; unset: each stage's default.
  const indexType = input.indexType ? { indexType: input.indexType } : {};
  const derived: { [K in LaunchStage]: StageInput<K> } = {
    preflight: { targetTraces: scale, ...indexType },
    seedImport: { ...(input.seedPath && { path: input.seedPath }) },
    embeddingReadiness: { target: 'seeds' },
    firstQuerySmoke: {
      ...(input.goldenPath && { goldenPath: input.goldenPath }),
      ...(input.seedPath && { seedPath: input.seedPath }),
      ...(input.thresholds?.minHitAt5 !== undefined && { minHitAt5: input.thresholds.minHitAt5 }),
    },
    capacityPopulation: { total: scale, clusters, ...(input.allowProduction && { allowProduction: true }) },
    indexBuild: { ...indexType },
    searchBenchmark: {
      dataset: { total: scale, clusters },
      ...indexType,
      thresholds: {
        ...(input.thresholds?.sqlP99Ms !== undefined && { sqlP99Ms: input.thresholds.sqlP99Ms }),
        ...(input.thresholds?.httpP99Ms !== undefined && { httpP99Ms: input.thresholds.httpP99Ms }),
        ...(input.thresholds?.minRecallAt10 !== undefined && { recallMean: input.thresholds.minRecallAt10 }),
      },
      // searchBenchmark's default HTTP load: an open loop that stays within the per-user read quota,
      // against an API over the capacity database (the live API never sees the capacity rows).
      http: { ...(input.capacityApiBaseUrl && { baseUrl: input.capacityApiBaseUrl }) },
      // The launch certifies the production settings; the ef_search sweep and the 1-client
      // comparison are for tuning (npm run bench:search) and would only lengthen the launch.
      efSearch: [],
      rawFloorClients: [2],
      concurrencySeconds: 5,
    },
    rateLimitValidation: { ...(input.apiBaseUrl && { baseUrl: input.apiBaseUrl }) },
    capacityCleanup: { ...(input.allowProduction && { allowProduction: true }) },
  };
  return { ...derived[stage], ...input.stageInputs?.[stage] };
}

const fmt = (x: number, digits = 3) => x.toFixed(digits);

/** One line per stage for the progress table and the report. */
const SUMMARIES: { [S in LaunchStage]: (r: StageResult<S>) => string } = {
  preflight: (r) => `${r.counts.pass} pass, ${r.counts.warn} warn, ${r.counts.fail} fail`,
  seedImport: (r) => `${r.inserted} inserted, ${r.updated} updated, ${r.skipped} skipped`,
  embeddingReadiness: (r) => `${r.total - r.pending}/${r.total} embedded (${r.modelId})`,
  firstQuerySmoke: (r) => `hit@5 ${fmt(r.hitAt5)}, hit@1 ${fmt(r.hitAt1)}, MRR ${fmt(r.mrr)}`,
  capacityPopulation: (r) => `${r.rowsPresent} rows present (${r.rowsInserted} new), ${r.rowsPerSecond} rows/s`,
  indexBuild: (r) => {
    // Reports recorded before the parallel-worker fields existed have neither.
    const parallel = r.parallelWorkers === undefined ? '' : `, ${r.parallelWorkers} parallel worker${r.parallelWorkers === 1 ? '' : 's'}${r.parallelDisabledReason ? ` (${r.parallelDisabledReason})` : ''}`;
    return `${r.built ? `built in ${buildDuration(r)}` : 'present'}${parallel}, ${formatBytes(r.indexBytes)}, used: ${r.usedByPlanner}`;
  },
  searchBenchmark: (r) => r.checks.map((c) => `${c.name} ${c.value === null ? '—' : fmt(c.value, 2)} ${c.status}`).join('; '),
  rateLimitValidation: (r) => `${r.counts.pass}/${r.checks.length} checks pass`,
  capacityCleanup: (r) => `${r.deleted} deleted, verified: ${r.verified}`,
};

export function summarizeStage<S extends LaunchStage>(stage: S, result: StageResult<S>): string {
  return SUMMARIES[stage](result);
}

function notRun(stages: StageRecord[], stage: LaunchStage): string {
  const rec = stages.find((s) => s.stage === stage)!;
  if (rec.state === 'failed') return `${stage} failed: ${rec.error ?? 'unknown error'}`;
  return `${stage} did not run (${rec.summary ?? rec.state})`;
}

export function evaluateCriteria(stages: StageRecord[], results: StageResults, t: LaunchThresholds, scale: number): LaunchCriterion[] {
  const criteria: LaunchCriterion[] = [];
  const add = <S extends LaunchStage>(c: Omit<LaunchCriterion, 'passed' | 'value'> & { stage: S }, measure: (r: StageResult<S>) => { passed: boolean; value: string }) => {
    const result = results[c.stage];
    const m = result === undefined ? undefined : measure(result);
    criteria.push({ ...c, passed: m?.passed ?? false, value: m?.value ?? notRun(stages, c.stage) });
  };

  add(
    { id: 'seeds-embedded', description: 'validated seeds embedded with the active model', threshold: `≥ ${t.minSeedsEmbedded}, 0 pending`, stage: 'embeddingReadiness' },
    (r) => {
      const embedded = r.total - r.pending;
      return { passed: embedded >= t.minSeedsEmbedded && r.pending === 0, value: `${embedded} embedded, ${r.pending} pending (${r.modelId})` };
    },
  );
  add(
    { id: 'first-query-hit5', description: 'first-query relevance hit@5 over the golden queries', threshold: `≥ ${t.minHitAt5}`, stage: 'firstQuerySmoke' },
    (r) => ({ passed: r.hitAt5 >= t.minHitAt5, value: `${fmt(r.hitAt5)} over ${r.queries} queries` }),
  );
  add(
    { id: 'capacity-rows', description: 'capacity rows present', threshold: `${scale}`, stage: 'capacityPopulation' },
    (r) => {
      // Judged on the rows themselves; the ledger only claims them (a ledger entry can outlive its rows).
      const ledger = r.ledgerRows === r.rowsPresent ? '' : ` (ledger claims ${r.ledgerRows})`;
      return { passed: r.rowsPresent === scale, value: `${r.rowsPresent ?? 'not counted'}${ledger}` };
    },
  );
  add(
    { id: 'hnsw-index-used', description: 'the planner uses the HNSW index', threshold: 'Index Scan on ix_traces_embedding_hnsw', stage: 'indexBuild' },
    (r) => ({ passed: r.usedByPlanner, value: r.usedByPlanner ? 'used' : 'not used' }),
  );
  criteria.push(...hardeningCriteria(stages, results, t));
  if (stages.find((s) => s.stage === 'capacityCleanup')!.summary !== 'skipped by request') {
    add(
      { id: 'cleanup-verified', description: 'capacity data removed; seeds and user data untouched', threshold: '0 capacity rows left', stage: 'capacityCleanup' },
      (r) => ({ passed: r.verified, value: `${r.after.capacity} left, seeds ${r.before.seeds}→${r.after.seeds}` }),
    );
  }
  return criteria;
}

function benchmarkCheck(result: SearchBenchmarkResult, prefix: string): BenchmarkCheck | undefined {
  return result.checks.find((c) => c.name.startsWith(prefix));
}

function hardeningCriteria(stages: StageRecord[], results: StageResults, t: LaunchThresholds): LaunchCriterion[] {
  const bench = results.searchBenchmark;
  const fromCheck = (id: string, description: string, prefix: string, threshold: string): LaunchCriterion => {
    const c = bench ? benchmarkCheck(bench, prefix) : undefined;
    return {
      id,
      description,
      stage: 'searchBenchmark',
      threshold,
      passed: c?.status === 'pass',
      value: !bench ? notRun(stages, 'searchBenchmark') : !c ? `${prefix} not measured` : c.value === null ? `not measured: ${c.detail}` : `${fmt(c.value, 3)} (${c.detail})`,
    };
  };
  const rl = results.rateLimitValidation;
  return [
    fromCheck('sql-p99', 'HNSW search SQL p99 at the production ef_search (ms)', 'SQL p99', `< ${t.sqlP99Ms} ms`),
    fromCheck('http-p99', 'search API p99 end to end (ms)', 'HTTP p99', `< ${t.httpP99Ms} ms`),
    fromCheck('recall-at-10', 'recall@10 mean at the production ef_search', 'recall@10 mean', `≥ ${t.minRecallAt10}`),
    fromCheck('rerank-recall', 'trust re-ranked top 10 against the exact re-ranked top 10 over all rows', 're-rank recall', `≥ ${DEFAULT_THRESHOLDS.rerankRecallMean}`),
    fromCheck('filtered-recall', 'filtered recall@10 at ~10% and ~1% tag selectivity (iterative scan, production settings)', 'filtered recall@10', `≥ ${DEFAULT_THRESHOLDS.filteredRecallMean}`),
    fromCheck('benchmark-errors', 'benchmark error rate (SQL errors, non-2xx HTTP)', 'error rate', '0'),
    fromCheck('benchmark-harness', 'no load generator saturated (otherwise the latencies are the harness\'s)', 'saturated harness phases', '0'),
    {
      id: 'rate-limit-checks',
      description: 'every rate-limit check passes (burst, 429, refill, isolation, writes, agent pattern, many users)',
      stage: 'rateLimitValidation',
      threshold: 'all pass',
      passed: rl?.passed ?? false,
      value: !rl
        ? notRun(stages, 'rateLimitValidation')
        : `${rl.counts.pass}/${rl.checks.length} pass${rl.counts.fail > 0 ? `; failed: ${rl.checks.filter((c) => !c.passed).map((c) => c.name).join(', ')}` : ''}`,
    },
  ];
}
