/**
 * How launchReadiness turns stage results into launch criteria. Pure functions of the results, so
 * the verdict logic is replay-safe and unit-testable without a server.
 */
import type {
  CapacityCleanupResult,
  CapacityPopulationResult,
  EmbeddingReadinessResult,
  FirstQuerySmokeResult,
  LaunchCriterion,
  LaunchReadinessInput,
  LaunchStage,
  LaunchThresholds,
  PreflightReport,
  SeedImportResult,
  StageRecord,
} from './messages.js';
import type { IndexBuildReport } from '../capacity/index-build.js';

type Results = Partial<Record<LaunchStage, unknown>>;

/** The child input each stage gets, derived from the launch options and overridable per stage. */
export function stageInputs(stage: LaunchStage, input: LaunchReadinessInput, scale: number): Record<string, unknown> {
  const derived: Record<LaunchStage, Record<string, unknown>> = {
    preflight: { targetTraces: scale },
    seedImport: { ...(input.seedPath && { path: input.seedPath }) },
    embeddingReadiness: { target: 'seeds' },
    firstQuerySmoke: {
      ...(input.goldenPath && { goldenPath: input.goldenPath }),
      ...(input.seedPath && { seedPath: input.seedPath }),
      ...(input.thresholds?.minHitAt5 !== undefined && { minHitAt5: input.thresholds.minHitAt5 }),
    },
    capacityPopulation: { total: scale, ...(input.allowProduction && { allowProduction: true }) },
    indexBuild: {},
    searchBenchmark: { ...(input.apiBaseUrl && { http: { baseUrl: input.apiBaseUrl } }) },
    rateLimitValidation: { ...(input.apiBaseUrl && { baseUrl: input.apiBaseUrl }) },
    capacityCleanup: { ...(input.allowProduction && { allowProduction: true }) },
  };
  return { ...derived[stage], ...input.stageInputs?.[stage] };
}

const fmt = (x: number, digits = 3) => x.toFixed(digits);

/** One line per stage for the progress table and the report. */
export function summarizeStage(stage: LaunchStage, result: unknown): string {
  switch (stage) {
    case 'preflight': {
      const r = result as PreflightReport;
      return `${r.counts.pass} pass, ${r.counts.warn} warn, ${r.counts.fail} fail`;
    }
    case 'seedImport': {
      const r = result as SeedImportResult;
      return `${r.inserted} inserted, ${r.updated} updated, ${r.skipped} skipped`;
    }
    case 'embeddingReadiness': {
      const r = result as EmbeddingReadinessResult;
      return `${r.total - r.pending}/${r.total} embedded (${r.modelId})`;
    }
    case 'firstQuerySmoke': {
      const r = result as FirstQuerySmokeResult;
      return `hit@5 ${fmt(r.hitAt5)}, hit@1 ${fmt(r.hitAt1)}, MRR ${fmt(r.mrr)}`;
    }
    case 'capacityPopulation': {
      const r = result as CapacityPopulationResult;
      return `${r.ledgerRows} rows (${r.rowsInserted} new), ${r.rowsPerSecond} rows/s`;
    }
    case 'indexBuild': {
      const r = result as IndexBuildReport;
      return `${r.built ? `built in ${r.buildSeconds} s` : 'present'}, ${(r.indexBytes / 1048576).toFixed(0)} MB, used: ${r.usedByPlanner}`;
    }
    case 'capacityCleanup': {
      const r = result as CapacityCleanupResult;
      return `${r.deleted} deleted, verified: ${r.verified}`;
    }
    default:
      return summarizeHardeningStage(stage, result);
  }
}

function notRun(stages: StageRecord[], stage: LaunchStage): string {
  const rec = stages.find((s) => s.stage === stage)!;
  if (rec.state === 'failed') return `${stage} failed: ${rec.error ?? 'unknown error'}`;
  return `${stage} did not run (${rec.summary ?? rec.state})`;
}

export function evaluateCriteria(stages: StageRecord[], results: Results, t: LaunchThresholds, scale: number): LaunchCriterion[] {
  const criteria: LaunchCriterion[] = [];
  const add = (c: Omit<LaunchCriterion, 'passed' | 'value'>, measure: () => { passed: boolean; value: string } | undefined) => {
    const m = results[c.stage] === undefined ? undefined : measure();
    criteria.push({ ...c, passed: m?.passed ?? false, value: m?.value ?? notRun(stages, c.stage) });
  };

  add(
    { id: 'seeds-embedded', description: 'validated seeds embedded with the active model', threshold: `≥ ${t.minSeedsEmbedded}, 0 pending`, stage: 'embeddingReadiness' },
    () => {
      const r = results.embeddingReadiness as EmbeddingReadinessResult;
      const embedded = r.total - r.pending;
      return { passed: embedded >= t.minSeedsEmbedded && r.pending === 0, value: `${embedded} embedded, ${r.pending} pending (${r.modelId})` };
    },
  );
  add(
    { id: 'first-query-hit5', description: 'first-query relevance hit@5 over the golden queries', threshold: `≥ ${t.minHitAt5}`, stage: 'firstQuerySmoke' },
    () => {
      const r = results.firstQuerySmoke as FirstQuerySmokeResult;
      return { passed: r.hitAt5 >= t.minHitAt5, value: `${fmt(r.hitAt5)} over ${r.queries} queries` };
    },
  );
  add(
    { id: 'capacity-rows', description: 'capacity rows present', threshold: `${scale}`, stage: 'capacityPopulation' },
    () => {
      const r = results.capacityPopulation as CapacityPopulationResult;
      return { passed: r.ledgerRows === scale, value: `${r.ledgerRows}` };
    },
  );
  add(
    { id: 'hnsw-index-used', description: 'the planner uses the HNSW index', threshold: 'Index Scan on ix_traces_embedding_hnsw', stage: 'indexBuild' },
    () => {
      const r = results.indexBuild as IndexBuildReport;
      return { passed: r.usedByPlanner, value: r.usedByPlanner ? 'used' : 'not used' };
    },
  );
  criteria.push(...hardeningCriteria(stages, results, t));
  if (stages.find((s) => s.stage === 'capacityCleanup')!.summary !== 'skipped by request') {
    add(
      { id: 'cleanup-verified', description: 'capacity data removed; seeds and user data untouched', threshold: '0 capacity rows left', stage: 'capacityCleanup' },
      () => {
        const r = results.capacityCleanup as CapacityCleanupResult;
        return { passed: r.verified, value: `${r.after.capacity} left, seeds ${r.before.seeds}→${r.after.seeds}` };
      },
    );
  }
  return criteria;
}

// Filled in with the benchmark and rate-limit stages' result types.
function summarizeHardeningStage(_stage: LaunchStage, _result: unknown): string {
  return '';
}
function hardeningCriteria(_stages: StageRecord[], _results: Results, _t: LaunchThresholds): LaunchCriterion[] {
  return [];
}
