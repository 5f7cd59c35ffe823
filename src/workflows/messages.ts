/**
 * Everything the CLI and the workflows agree on: queries, search attributes and the progress and
 * report types. Imported by workflow code, so it must stay deterministic (no I/O, no Node APIs).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const readinessStageKey = defineSearchAttributeKey('ReadinessStage', SearchAttributeType.KEYWORD);
export const readinessPctKey = defineSearchAttributeKey('ReadinessPct', SearchAttributeType.INT);

export type StageState = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

/** What a `progress` query returns, for every workflow in this project. */
export interface StageProgress {
  stage: string;
  state: StageState;
  done: number;
  total: number;
  unit: string;
  ratePerSecond?: number;
  etaSeconds?: number;
  lastError?: string;
  message?: string;
  /** Parent workflows (launchReadiness) list their child stages here. */
  stages?: StageRecord[];
}

export const progressQuery = defineQuery<StageProgress>('progress');
/** Children report their progress to a parent (launchReadiness) so it can aggregate ETAs. */
export const stageProgressSignal = defineSignal<[StageProgress]>('stageProgress');

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  value: string;
  detail: string;
}

export interface PreflightInput {
  /** The capacity the launch must hold; sizes the memory checks. */
  targetTraces?: number;
  dimensions?: number;
}

export interface PreflightReport {
  ok: boolean;
  checks: CheckResult[];
  counts: Record<CheckStatus, number>;
}

export interface SeedImportInput {
  /** Fixture path, relative to the project root unless absolute. */
  path?: string;
  chunkSize?: number;
  /** Pause between chunks, to spread load on a busy production database. */
  throttleMs?: number;
  /** Apply the corpus-size rules (≥60 clusters of 3–6); off for small fixtures. */
  corpus?: boolean;
}

export interface SeedImportResult {
  path: string;
  total: number;
  inserted: number;
  updated: number;
  skipped: number;
  chunks: number;
}

export type EmbeddingTargetName = 'seeds' | 'all';

export interface EmbeddingReadinessInput {
  target?: EmbeddingTargetName;
  deadlineSeconds?: number;
  batchSize?: number;
  /** Parallel claim-and-embed loops; rows are claimed with SKIP LOCKED, so lanes never overlap. */
  lanes?: number;
}

export interface EmbeddingReadinessResult {
  target: EmbeddingTargetName;
  modelId: string;
  embedded: number;
  total: number;
  pending: number;
  seconds: number;
}

export interface FirstQuerySmokeInput {
  goldenPath?: string;
  seedPath?: string;
  /** Launch criterion: hit@5 at or above this. */
  minHitAt5?: number;
}

export interface FirstQuerySmokeResult {
  passed: boolean;
  modelId: string;
  queries: number;
  hitAt1: number;
  hitAt5: number;
  mrr: number;
  minHitAt5: number;
  failures: { query: string; rank: number | null; top: string[]; expected: string[] }[];
}

export interface CapacityPopulationInput {
  total?: number;
  batchSize?: number;
  dimensions?: number;
  /** Batch activities in flight at once (the in-workflow lane pool). */
  concurrency?: number;
  runKey?: string;
  generatorSeed?: number;
  clusters?: number;
  sigma?: number;
  /** Drop the HNSW index before loading; indexBuild recreates it. */
  dropIndex?: boolean;
  allowProduction?: boolean;
}

export interface CapacityPopulationResult {
  runKey: string;
  total: number;
  batches: number;
  rowsInserted: number;
  rowsAlreadyPresent: number;
  ledgerRows: number;
  centres: 'seeds' | 'random';
  droppedIndex: boolean;
  seconds: number;
  rowsPerSecond: number;
  megabytesPerSecond: number;
}

export interface IndexBuildInput {
  maintenanceWorkMemCapMb?: number;
  parallelWorkers?: number;
  prewarm?: boolean;
  rebuild?: boolean;
}

export interface CapacityCleanupInput {
  batchSize?: number;
  allowProduction?: boolean;
}

export interface CapacityCleanupResult {
  before: { capacity: number; seeds: number; others: number };
  after: { capacity: number; seeds: number; others: number };
  deleted: number;
  transactions: number;
  ledgerRowsDeleted: number;
  reindexed: boolean;
  verified: boolean;
}

// ---- launchReadiness -------------------------------------------------------------------------

export const LAUNCH_STAGES = [
  'preflight',
  'seedImport',
  'embeddingReadiness',
  'firstQuerySmoke',
  'capacityPopulation',
  'indexBuild',
  'searchBenchmark',
  'rateLimitValidation',
  'capacityCleanup',
] as const;
export type LaunchStage = (typeof LAUNCH_STAGES)[number];
export type LaunchTrack = 'preflight' | 'coldStart' | 'hardening';

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

export const LAUNCH_SCALES = { demo: 20_000, full: 100_000 } as const;
export type LaunchScale = keyof typeof LAUNCH_SCALES;

export interface LaunchReadinessInput {
  scale?: LaunchScale;
  /** Capacity rows; overrides the scale's default. */
  traces?: number;
  skip?: LaunchStage[];
  /** Delete the capacity data at the end (default true). */
  cleanup?: boolean;
  /** The API under test for the HTTP benchmark and rate-limit checks; the worker serves one when unset. */
  apiBaseUrl?: string;
  thresholds?: Partial<LaunchThresholds>;
  seedPath?: string;
  goldenPath?: string;
  /** Per-stage input overrides, merged over what the parent derives (e.g. fast rate-limit timings in tests). */
  stageInputs?: Partial<Record<LaunchStage, Record<string, unknown>>>;
  allowProduction?: boolean;
}

export interface StageRecord {
  stage: LaunchStage;
  track: LaunchTrack;
  state: StageState;
  workflowId: string;
  startedAt?: string;
  seconds?: number;
  summary?: string;
  error?: string;
  /** Latest progress the child reported (done/total/ETA). */
  live?: StageProgress;
}

export interface LaunchCriterion {
  id: string;
  description: string;
  passed: boolean;
  value: string;
  threshold: string;
  /** The stage the figure comes from; a criterion whose stage did not run fails with that reason. */
  stage: LaunchStage;
}

export type LaunchVerdict = 'GO' | 'NO-GO';

export interface LaunchReport {
  verdict: LaunchVerdict;
  workflowId: string;
  scale: number;
  startedAt: string;
  seconds: number;
  criteria: LaunchCriterion[];
  stages: StageRecord[];
  /** Raw stage results, for the report files and the nightly comparison. */
  results: Partial<Record<LaunchStage, unknown>>;
}


// ---- capacityRecheck (the nightly schedule) ----------------------------------------------------

export interface CapacityRecheckInput {
  traces?: number;
  runKey?: string;
  /** Flag a p99 regression above this fraction against the previous run. */
  maxP99Regression?: number;
  /** Flag a recall@10 drop above this. */
  maxRecallDrop?: number;
  benchmark?: Record<string, unknown>;
}
