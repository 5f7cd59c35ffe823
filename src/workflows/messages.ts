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
  /** Batches the ledger had but whose rows were missing or partial: written again. */
  batchesRepaired: number;
  /** The run's rows counted in `traces` at the end (by their deterministic ids): what the launch judges. */
  rowsPresent: number;
  /** What the ledger claims, for the report; never judged on. */
  ledgerRows: number;
  centres: import('../capacity/centres.js').CentreSource['kind'];
  droppedIndex: boolean;
  seconds: number;
  rowsPerSecond: number;
  megabytesPerSecond: number;
}

export interface IndexBuildInput {
  maintenanceWorkMemCapMb?: number;
  /** Asked-for parallel maintenance workers; 0 regardless while pgvector has a parallel-build bug. */
  parallelWorkers?: number;
  prewarm?: boolean;
  /** Drop a valid index and build it again (refused under APP_ENV=production without allowProduction). */
  rebuild?: boolean;
  allowProduction?: boolean;
}

export interface CapacityCleanupInput {
  /** Rows per delete transaction (whole ledger batches, at least one). */
  batchSize?: number;
  allowProduction?: boolean;
}

export interface CapacityCleanupResult {
  before: { capacity: number; seeds: number; others: number };
  after: { capacity: number; seeds: number; others: number };
  deleted: number;
  transactions: number;
  /** Ledger batches deleted, each in the transaction that deleted its rows (plus any left at the end). */
  ledgerRowsDeleted: number;
  /** Ledger batches whose rows were not all there when deleted. */
  incompleteLedgerBatches: number;
  /** Capacity rows no ledger entry claimed (older runs), deleted after the ledger's batches. */
  orphanRowsDeleted: number;
  /** The HNSW index around the bulk delete: dropped before it (and why), and built again after. */
  index: {
    pgvectorVersion: string;
    droppedBeforeDelete: boolean;
    reason: string;
    rebuilt: boolean;
    buildSeconds: number;
    usedByPlanner: boolean;
  };
  /** The index was built after the delete (same as index.rebuilt). */
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
  /** The API under test for the rate-limit checks; the worker serves one when unset. */
  apiBaseUrl?: string;
  /**
   * The API the HTTP benchmark loads: it must serve the capacity database (CAPACITY_DATABASE_URL).
   * Unset: the worker starts one over that database in a child process.
   */
  capacityApiBaseUrl?: string;
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

export interface SearchBenchmarkInput {
  /** The capacity dataset the held-out queries are drawn for; defaults to capacityPopulation's. */
  dataset?: {
    runKey?: string;
    total?: number;
    dimensions?: number;
    clusters?: number;
    sigma?: number;
    generatorSeed?: number;
  };
  /** ef_search values of the serial sweep (the production value is always included; [] measures only it). */
  efSearch?: number[];
  /** The search path's ef_search; the verdict and the concurrency sweep use it. */
  productionEfSearch?: number;
  /** Client counts of the concurrency sweep. */
  concurrency?: number[];
  concurrencySeconds?: number;
  queryCount?: number;
  querySeed?: number;
  /** Results per search (recall@k and re-rank recall are judged at it); defaults to 10. */
  k?: number;
  /** Client counts at which search and raw floor throughput are compared (default 1 and 2). */
  rawFloorClients?: number[];
  /** Alternating rounds per client count (default 3), each phase this many seconds (default 5). */
  rawFloorRounds?: number;
  rawFloorRoundSeconds?: number;
  warmupQueries?: number;
  prewarm?: boolean;
  /** Parallel exact scans while computing ground truth. */
  groundTruthLanes?: number;
  thresholds?: Partial<import('./benchmark-verdict.js').BenchmarkThresholds>;
  /**
   * The HTTP phase; skipped when absent. Without baseUrl it loads the API the worker serves. Without
   * ratePerUser it is an open loop of 20 users at 3 req/s for 20 s (within the default read quota);
   * ratePerUser null makes it a closed loop (mind the per-user quota: 429s count as errors).
   */
  http?: { baseUrl?: string; users?: number; seconds?: number; ratePerUser?: number | null; limit?: number } | null;
  /**
   * After the HTTP load, a closed loop on `users` connections that finds the API's throughput
   * ceiling; skipped when absent. Needs a read quota far above what it sends (429s count as errors).
   */
  httpCeiling?: { users?: number; seconds?: number } | null;
  /** Figures of the stages that prepared the data, for the report. */
  context?: { loadRowsPerSecond?: number; indexBuildSeconds?: number };
  /** Where reports/<run>/ goes, relative to the project root unless absolute. */
  reportsDir?: string;
}

export interface SearchBenchmarkResult {
  name: string;
  runId: string;
  verdict: 'pass' | 'fail';
  checks: import('./benchmark-verdict.js').BenchmarkCheck[];
  files: { dir: string; json: string; markdown: string; html: string };
  report: import('../report/schema.js').BenchmarkReport;
}

// ---- rateLimitValidation ---------------------------------------------------------------------

export interface RateLimitValidationInput {
  /** The API under test; when unset, the worker serves one on config.api.host:port. */
  baseUrl?: string;
  /** The limits the deployment is expected to enforce (requests per minute per user). */
  readLimit?: number;
  writeLimit?: number;
  /** Check 3: the durable timer between exhaustion and the refill probe. */
  refillWaitSeconds?: number;
  /** Check 3: probe requests beyond the expected refill (10 expected + 5 = the 15 of the research). */
  refillProbeExtra?: number;
  /** Check 6: the realistic agent pattern. */
  agentSessions?: number;
  agentSearchesPerSession?: number;
  agentSessionSeconds?: number;
  agentIdleSeconds?: number;
  /** Check 7: users hammering the API at once, each read_limit + extra requests. */
  manyUsers?: number;
  /** Delete the test users (and their contributed traces) and their buckets when each check ends. */
  cleanup?: boolean;
}

export type RateLimitValidationSettings = Required<Omit<RateLimitValidationInput, 'baseUrl'>>;

/** The launch defaults: 60 reads and 20 writes a minute, a real 10 s refill wait, 30 s agent sessions. */
export const RATE_LIMIT_VALIDATION_DEFAULTS: RateLimitValidationSettings = {
  readLimit: 60,
  writeLimit: 20,
  refillWaitSeconds: 10,
  refillProbeExtra: 5,
  agentSessions: 2,
  agentSearchesPerSession: 15,
  agentSessionSeconds: 30,
  agentIdleSeconds: 10,
  manyUsers: 20,
  cleanup: true,
};

/** The same checks with short waits (the CLI's --fast and the tests); limits stay as given. */
export const RATE_LIMIT_VALIDATION_FAST: Partial<RateLimitValidationSettings> = {
  refillWaitSeconds: 3,
  agentSessions: 2,
  agentSearchesPerSession: 6,
  agentSessionSeconds: 3,
  agentIdleSeconds: 1,
  manyUsers: 10,
};

export interface RateLimitCheck {
  id: number;
  name: string;
  passed: boolean;
  expected: string;
  observed: string;
  figures: Record<string, number | string | boolean>;
}

export interface RateLimitValidationResult {
  passed: boolean;
  baseUrl: string;
  /** How the API was found: started in the worker, already running there, reused on the port, or given. */
  apiSource: 'started' | 'running' | 'reused' | 'given';
  settings: RateLimitValidationSettings;
  checks: RateLimitCheck[];
  counts: { pass: number; fail: number };
  /** Test users of the checks whose activities completed (a failed activity deletes its own, uncounted). */
  users: number;
  /** Every test user of the run has an e-mail starting with this (to find leftovers of a --no-cleanup run). */
  emailPrefix: string;
  /**
   * Test users deleted through the API under test (DELETE /api/v1/users/me, wherever it runs) and
   * their bucket keys removed from the worker's Redis; absent with cleanup off.
   */
  cleanup?: { usersDeleted: number; keysDeleted: number } | { error: string };
  seconds: number;
}

export interface CapacityRecheckResult {
  traces: number;
  runKey: string;
  /** Whether the capacity data was already there (the usual nightly case) or had to be loaded. */
  reusedCapacity: boolean;
  population: CapacityPopulationResult | null;
  index: import('../capacity/index-build.js').IndexBuildReport;
  benchmark: { runId: string; name: string; verdict: 'pass' | 'fail'; reportHtml: string };
  previous: { runId: string; name: string } | null;
  regressions: { metric: string; a: number | null; b: number | null; flag: string | null }[];
  flagged: boolean;
}
