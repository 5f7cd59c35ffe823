/**
 * The benchmark report: one JSON document per run, stored in benchmark_runs.figures and written to
 * reports/<run>/report.json. Every writer and reader validates against this schema, so a report
 * from last month still parses (or fails loudly) when tonight's run is compared with it.
 */
import { z } from 'zod';
import { INDEX_TYPES } from '../db/index-types.js';

const ms = z.number().nonnegative();
const count = z.number().int().nonnegative();
const ratio = z.number().min(0).max(1);

export const latencySchema = z.object({ count, mean: ms, min: ms, p50: ms, p95: ms, p99: ms, p999: ms, max: ms });
export const recallSchema = z.object({ queries: count, mean: ratio, p5: ratio, min: ratio, zeroShare: ratio });
export const cdfSchema = z.array(z.object({ percentile: z.number().min(0).max(100), ms }));

export const thresholdsSchema = z.object({
  sqlP99Ms: ms,
  recallMean: ratio,
  rerankRecallMean: ratio,
  httpP99Ms: ms,
  errorRate: ratio,
  maxSerialP99Ratio: z.number().positive(),
  minQpsRatio: z.number().nonnegative(),
  minApiCeilingRatio: z.number().nonnegative(),
  /** Absent in reports from before the filtered phase. */
  filteredRecallMean: ratio.optional(),
});

export const checkSchema = z.object({
  name: z.string(),
  value: z.number().nullable(),
  comparator: z.enum(['<', '<=', '>=']),
  threshold: z.number(),
  status: z.enum(['pass', 'fail', 'skipped']),
  detail: z.string(),
});

export const environmentSchema = z.object({
  postgres: z.string(),
  pgvector: z.string(),
  cpuModel: z.string(),
  cpuCores: count,
  ramBytes: count,
  node: z.string(),
  platform: z.string(),
  sharedBuffersBytes: count,
  maintenanceWorkMemBytes: count,
  effectiveCacheSizeBytes: count,
  maxWorkerProcesses: count,
  maxParallelWorkers: count,
  maxParallelWorkersPerGather: count,
  maxParallelMaintenanceWorkers: count,
});

export const datasetSchema = z.object({
  runKey: z.string(),
  /** Rows the search statement can return (the whole searchable table, not only capacity rows). */
  traceCount: count,
  capacityRows: count,
  dimensions: count,
  clusters: count,
  sigma: z.number().nonnegative(),
  generatorSeed: z.number().int(),
  centres: z.object({ kind: z.literal('random') }),
  modelId: z.string(),
  queryCount: count,
  querySeed: z.number().int(),
  loadRowsPerSecond: z.number().nonnegative().nullable(),
});

const indexTypeSchema = z.enum(INDEX_TYPES);

export const indexSchema = z.object({
  name: z.string(),
  /** Absent in reports from before halfvec: those measured the vector index. */
  indexType: indexTypeSchema.optional(),
  present: z.boolean(),
  valid: z.boolean(),
  bytes: count,
  m: count.nullable(),
  efConstruction: count.nullable(),
  fitsInSharedBuffers: z.boolean(),
  buildSeconds: z.number().nonnegative().nullable(),
});

export const groundTruthSchema = z.object({
  cacheKey: z.string(),
  cached: z.boolean(),
  k: count,
  planNode: z.string(),
  seconds: z.number().nonnegative(),
  exactP50Ms: ms.nullable(),
});

export const methodSchema = z.object({
  /** Results per search; recall and re-rank recall are judged at it. */
  k: count,
  /** Rows the search statement fetches first, and when the re-rank bound fails on them. */
  firstCandidates: count,
  wideCandidates: count,
  productionEfSearch: count,
  iterativeScan: z.string(),
  /** Tags on at most this many rows take the statement's exact route (0 in reports from before it). */
  exactFilterMaxRows: count.default(0),
  latencyUnit: z.string(),
  warmupQueries: count,
  concurrencySeconds: z.number().positive(),
});

export const warmupSchema = z.object({
  queries: count,
  prewarmed: z.boolean(),
  prewarmNote: z.string(),
  /** EXPLAIN of the measured statement, and whether it reads the HNSW index. */
  plan: z.string(),
  usesIndex: z.boolean(),
  efSearch: count,
  latency: latencySchema,
});

export const serialSchema = z.object({
  efSearch: count,
  /** The search statement. */
  latency: latencySchema,
  cdf: cdfSchema,
  /** The raw floor statement, interleaved with it query by query. */
  rawLatency: latencySchema,
  /** The index alone: raw floor ids against the exact nearest neighbours. */
  recall: recallSchema,
  /** The search path: its re-ranked top k against the exact re-ranked top k over all rows. */
  rerankRecall: recallSchema,
  widenedShare: ratio,
  uncertifiedShare: ratio,
});

/**
 * The index types side by side on the same data and queries in one run: each built (timed) on the
 * capacity database, then warmed up and measured serially at the production ef_search against the
 * same exact ground truth.
 */
export const indexTypeComparisonSchema = z.object({
  efSearch: count,
  k: count,
  rows: z.array(z.object({
    indexType: indexTypeSchema,
    indexName: z.string(),
    bytes: count,
    buildSeconds: z.number().nonnegative(),
    /** EXPLAIN of the search statement written for this type, and whether it reads this index. */
    plan: z.string(),
    usesIndex: z.boolean(),
    latency: latencySchema,
    rawLatency: latencySchema,
    recall: recallSchema,
    rerankRecall: recallSchema,
    widenedShare: ratio,
    uncertifiedShare: ratio,
  })).min(1),
});

/** What the load generator itself cost: a saturated one measured its own queueing, not the service. */
export const harnessSchema = z.object({
  processes: count,
  cpuShare: z.number().nonnegative(),
  eventLoopDelayP99Ms: ms,
  scheduleLagP99Ms: ms.nullable(),
  saturated: z.boolean(),
  reason: z.string().nullable(),
});

/** One time window of a load phase (benchmark/time-series.ts). */
export const windowSchema = z.object({
  startSeconds: z.number().nonnegative(),
  seconds: z.number().nonnegative(),
  count,
  errors: count,
  qps: z.number().nonnegative(),
  p50: ms,
  p99: ms,
});

/** Whether a load phase's p99 rose across its windows (benchmark/time-series.ts detectDrift). */
export const driftSchema = z.object({ drifting: z.boolean(), reason: z.string().nullable() });

export const concurrencySchema = z.object({
  statement: z.enum(['search', 'raw']),
  clients: count,
  efSearch: count,
  seconds: z.number().nonnegative(),
  queries: count,
  errors: count,
  errorRate: ratio,
  qps: z.number().nonnegative(),
  latency: latencySchema,
  harness: harnessSchema,
  windows: z.array(windowSchema),
  drift: driftSchema,
});

export const httpSchema = z.object({
  baseUrl: z.string(),
  mode: z.enum(['closed-loop', 'open-loop']),
  users: count,
  seconds: z.number().nonnegative(),
  ratePerUser: z.number().positive().nullable(),
  rateLimitPolicy: z.string().nullable(),
  requests: count,
  ok: count,
  non2xx: count,
  errors: count,
  timeouts: count,
  errorRate: ratio,
  qps: z.number().nonnegative(),
  latency: latencySchema,
  statusCodes: z.record(z.string().regex(/^\d{3}$/), count),
  /** Per Server-Timing stage of 2xx responses, plus `server` (their sum) and `outside` (the rest). */
  stages: z.record(z.string(), latencySchema).nullable(),
  harness: harnessSchema,
  windows: z.array(windowSchema),
  drift: driftSchema,
  /** The unmeasured load just before the measured window, by other users; null: none (or a report from before it). */
  warmup: z.object({ users: count, seconds: z.number().nonnegative(), ratePerUser: z.number().positive(), requests: count, ok: count }).nullable().default(null),
});

/** Search while writing (benchmark/mixed-load.ts): the HTTP search load with contributions and the embedding backfill alongside. */
export const mixedSchema = z.object({
  /** The search load under writes: the same users and rate as the read-only HTTP phase. */
  read: httpSchema,
  writes: z.object({
    writers: count,
    perWriterPerMinute: z.number().positive(),
    intervalMs: z.number().positive(),
    writesPerMinute: z.number().positive(),
    planned: count,
    requests: count,
    ok: count,
    non2xx: count,
    errors: count,
    statusCodes: z.record(z.string().regex(/^\d{3}$/), count),
    latency: latencySchema,
    rateLimitPolicy: z.string().nullable(),
    scheduleLagP99Ms: ms,
  }),
  /** From each write's 2xx to the first search response that lists the contribution. */
  delay: z.object({
    contributions: count,
    searchable: count,
    neverSearchable: count,
    p50Ms: ms.nullable(),
    p95Ms: ms.nullable(),
    maxMs: ms.nullable(),
    pollMs: z.number().positive(),
    graceSeconds: z.number().nonnegative(),
    embeddedNotFound: count,
    probes: count,
    checkErrors: count,
  }),
  backfill: z.object({ batchSize: count, idleMs: ms, batches: count, embedded: count, errors: count, lastError: z.string().nullable() }),
  cleanup: z.object({ writersDeleted: count, contributionsLeft: count }),
});

/** The service against the raw pgvector floor in the same run (workflows/benchmark-verdict.ts). */
export const rawFloorSchema = z.object({
  statement: z.string(),
  efSearch: count,
  k: count,
  searchP50Ms: ms.nullable(),
  searchP99Ms: ms.nullable(),
  rawP50Ms: ms.nullable(),
  rawP99Ms: ms.nullable(),
  serialP99Ratio: z.number().nonnegative().nullable(),
  qps: z.array(z.object({ clients: count, rounds: count, search: z.number().nonnegative(), raw: z.number().nonnegative(), ratio: z.number().nonnegative().nullable() })),
  qpsRatio: z.number().nonnegative().nullable(),
  apiCeilingQps: z.number().nonnegative().nullable(),
  apiCeilingRatio: z.number().nonnegative().nullable(),
});

/** One tag filter through the search statement (benchmark/sql-bench.ts measureFiltered). */
export const filteredPassSchema = z.object({
  tag: z.string(),
  efSearch: count,
  plan: z.string(),
  usesIndex: z.boolean(),
  latency: latencySchema,
  /** Its top k against the exact re-ranked top k among the tag's rows. */
  recall: recallSchema,
  /** Searches that returned fewer than k rows. */
  shortShare: ratio,
  /** Searches that took the exact route (a selective tag); reports from before that route have none. */
  exactShare: ratio.default(0),
  widenedShare: ratio,
  uncertifiedShare: ratio,
});

/** The filtered phase: the capacity tags, each at its measured selectivity. */
export const filteredSchema = z.object({
  /** trace_tags rows written for capacity data that predates tags (0 when it had them). */
  backfill: z.object({ batches: count, expected: count, inserted: count }),
  selectivities: z.array(z.object({
    tag: z.string(),
    nominalShare: ratio,
    /** Searchable rows with the tag, and their share of all searchable rows. */
    rows: count,
    share: ratio,
    groundTruth: groundTruthSchema.nullable(),
    /** Null when no searchable row has the tag. */
    pass: filteredPassSchema.nullable(),
  })),
});

export const benchmarkReportSchema = z.object({
  schemaVersion: z.literal(2),
  runId: z.uuid(),
  name: z.string().min(1),
  workflowId: z.string(),
  createdAt: z.iso.datetime(),
  verdict: z.enum(['pass', 'fail']),
  thresholds: thresholdsSchema,
  checks: z.array(checkSchema),
  environment: environmentSchema,
  dataset: datasetSchema,
  index: indexSchema,
  groundTruth: groundTruthSchema,
  method: methodSchema,
  warmup: warmupSchema,
  serial: z.array(serialSchema).min(1),
  concurrency: z.array(concurrencySchema),
  /** Search statement and raw floor at the same client count, back to back, alternating which goes first. */
  throughputRounds: z.array(z.object({ clients: count, round: count, searchFirst: z.boolean(), search: concurrencySchema, raw: concurrencySchema })),
  http: httpSchema.nullable(),
  httpSkippedReason: z.string().nullable(),
  httpCeiling: httpSchema.nullable(),
  /** Absent in reports from before the mixed phase existed. */
  mixed: mixedSchema.nullable().optional(),
  rawFloor: rawFloorSchema,
  /** Present when the run compared index types (searchBenchmark compareIndexTypes). */
  indexTypes: indexTypeComparisonSchema.nullable().optional(),
  /** Null when not requested; absent in reports from before the filtered phase. */
  filtered: filteredSchema.nullable().optional(),
  warnings: z.array(z.string()),
});

export type BenchmarkReport = z.infer<typeof benchmarkReportSchema>;
export type SerialFigures = z.infer<typeof serialSchema>;
export type ConcurrencyFigures = z.infer<typeof concurrencySchema>;
export type HttpFigures = z.infer<typeof httpSchema>;
export type WindowFigures = z.infer<typeof windowSchema>;
export type MixedFigures = z.infer<typeof mixedSchema>;
export type IndexTypeComparison = z.infer<typeof indexTypeComparisonSchema>;
export type FilteredReport = z.infer<typeof filteredSchema>;

export class InvalidReportError extends Error {
  constructor(where: string, issues: string[]) {
    super(`${where} is not a valid benchmark report: ${issues.slice(0, 5).join('; ')}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`);
    this.name = 'InvalidReportError';
  }
}

export function parseReport(value: unknown, where: string): BenchmarkReport {
  const parsed = benchmarkReportSchema.safeParse(value);
  if (!parsed.success) throw new InvalidReportError(where, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  return parsed.data;
}
