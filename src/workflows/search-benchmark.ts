import { ApplicationFailure, proxyActivities, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { BenchmarkQueries } from '../activities/benchmark.js';
import type { HttpLoadResult } from '../benchmark/http-load.js';
import type { MixedLoadResult } from '../benchmark/mixed-load.js';
import type { DatasetSpec } from '../benchmark/query-set.js';
import { DEFAULT_THRESHOLDS, judgeBenchmark, summarizeRawFloor, type BenchmarkCheck, type BenchmarkThresholds } from './benchmark-verdict.js';
import { EXACT_FILTER_MAX_ROWS, firstCandidates, wideCandidates } from '../search/candidates.js';
import type { BenchmarkReport, FilteredReport, IndexTypeComparison } from '../report/schema.js';
import { INDEX_TYPES, isIndexType, type IndexType } from '../db/index-types.js';
import { CAPACITY_DEFAULTS, defaultRunKey } from './capacity-population.js';
import { ProgressTracker } from './progress.js';
import { ReadinessAttributes } from './readiness-attributes.js';

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
  /** The HNSW index every phase measures (vector or halfvec); default the search path's (DEFAULT_INDEX_TYPE). */
  indexType?: IndexType;
  /**
   * Index types to compare side by side (the "Index type" section): each is built again (timed) on
   * the capacity database, one after the other, then measured serially at the production ef_search
   * against the same ground truth. Absent or empty: no comparison.
   */
  compareIndexTypes?: IndexType[];
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
  /**
   * The filtered phase (default true): the held-out queries with a tag filter at each capacity tag's
   * selectivity (~10%, ~1%), through the search statement at the production settings, against the
   * exact filtered ground truth. Capacity rows loaded before rows had tags get them first.
   */
  filtered?: boolean;
  /** Parallel exact scans while computing ground truth. */
  groundTruthLanes?: number;
  thresholds?: Partial<BenchmarkThresholds>;
  /**
   * The HTTP phase; skipped when absent. Without baseUrl it loads the API the worker serves. Without
   * ratePerUser it is an open loop of 20 users at 3 req/s for 20 s (within the default read quota);
   * ratePerUser null makes it a closed loop (mind the per-user quota: 429s count as errors).
   * warmupSeconds: unmeasured load by other users just before it (default HTTP_WARMUP_SECONDS).
   */
  http?: { baseUrl?: string; users?: number; seconds?: number; ratePerUser?: number | null; limit?: number; warmupSeconds?: number } | null;
  /**
   * After the HTTP load, a closed loop on `users` connections that finds the API's throughput
   * ceiling; skipped when absent. Needs a read quota far above what it sends (429s count as errors).
   */
  httpCeiling?: { users?: number; seconds?: number } | null;
  /**
   * Search while writing, after the HTTP phases; needs `http` (its users and rate, on the capacity
   * API unless http.baseUrl names another API over the capacity database). Contributions through the
   * write endpoint at `writesPerMinute` over writers of at most `maxPerWriterPerMinute` each, the
   * embedding backfill running, and each contribution's delay until a search finds it (waiting up to
   * `graceSeconds` after the last write). Reported as information; skipped when absent.
   */
  mixed?: Partial<MixedSettings> | null;
  /** Figures of the stages that prepared the data, for the report. */
  context?: { loadRowsPerSecond?: number; indexBuildSeconds?: number };
  /** Where reports/<run>/ goes, relative to the project root unless absolute. */
  reportsDir?: string;
}

/** The mixed phase's settings (SEARCH_BENCHMARK_DEFAULTS.mixed). */
export type MixedSettings = { [K in keyof typeof SEARCH_BENCHMARK_DEFAULTS.mixed]: number };

export interface SearchBenchmarkResult {
  name: string;
  runId: string;
  verdict: 'pass' | 'fail';
  checks: BenchmarkCheck[];
  files: { dir: string; json: string; markdown: string; html: string };
  report: BenchmarkReport;
}

export const SEARCH_BENCHMARK_DEFAULTS = {
  efSearch: [40, 64, 100, 128, 200],
  concurrency: [1, 2, 4, 8],
  /** Client counts at which search and raw floor throughput are compared, in alternating rounds. */
  rawFloorClients: [1, 2],
  rawFloorRounds: 3,
  rawFloorRoundSeconds: 5,
  concurrencySeconds: 10,
  queryCount: 1_000,
  // Any fixed value other than the data's own streams; changing it changes the query set.
  querySeed: 7,
  groundTruthLanes: 2,
  // Open loop within the API's per-user read quota (a full bucket of 60, refilling at 1/s): 20 users
  // at 3 req/s for 20 s send 60 requests each, so no 429 distorts the latencies. A closed loop
  // (ratePerUser: null) measures the API's throughput ceiling instead: on 2 cores its p99 is queueing.
  http: { users: 20, seconds: 20, ratePerUser: 3 as number | null, limit: 10 },
  /** The API's throughput ceiling: a closed loop on this many connections (needs a read quota far above it). */
  httpCeiling: { users: 2, seconds: 10 },
  /** Search while writing (benchmark/mixed-load.ts); the search load itself is the HTTP phase's: same users and rate. */
  mixed: {
    /** Contributions per minute over all writers. */
    writesPerMinute: 60,
    /**
     * Each writer's own rate: one write every 4 s, under the API's default write quota of 20 per
     * minute per user (a full bucket of 20 refilling at 1 every 3 s), so no write meets a 429.
     */
    maxPerWriterPerMinute: 15,
    /** After the last write, how long a contribution may still take to become searchable before it counts as never. */
    graceSeconds: 30,
    /** How often the embedded state of outstanding contributions is checked. */
    pollMs: 250,
    /** The embedding backfill's batch (embeddingReadiness's default) and its wait when nothing is pending. */
    backfillBatchSize: 256,
    backfillIdleMs: 1_000,
  },
} as const;

const { describeBenchmarkTarget, storeBenchmarkReport } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});

const { prepareBenchmarkGroundTruth, prepareFilteredBenchmark } = proxyActivities<Activities>({
  // Exact scans: about half a second a query at 100K × 1536, far more on bigger tables.
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumAttempts: 3 },
});

const { buildIndex, dropCapacityIndex } = proxyActivities<Activities>({
  startToCloseTimeout: '3 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', maximumAttempts: 3 },
});

const { warmUpSearch, measureSerialSearch, measureFilteredSearch, measureConcurrentSearch } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  // A retried measurement starts over: its figures never mix two attempts.
  retry: { initialInterval: '5 seconds', maximumAttempts: 3 },
});

function positiveInts(name: string, values: readonly number[]): number[] {
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v <= 0)) {
    throw ApplicationFailure.nonRetryable(`${name} must be a non-empty list of positive integers, got ${JSON.stringify(values)}`, 'InvalidBenchmarkInput');
  }
  return [...new Set(values)].sort((a, b) => a - b);
}

function positiveInt(name: string, value: number): number {
  return positiveInts(name, [value])[0]!;
}

function indexTypes(name: string, values: readonly unknown[]): IndexType[] {
  const bad = values.filter((v) => !isIndexType(v));
  if (bad.length > 0) {
    throw ApplicationFailure.nonRetryable(`${name} takes ${INDEX_TYPES.join(', ')}, got ${JSON.stringify(bad)}`, 'InvalidBenchmarkInput');
  }
  return [...new Set(values as IndexType[])];
}

/**
 * The search benchmark (DESIGN.md §5): held-out queries with exact ground truth, a warm-up, serial
 * latency and recall per ef_search, filtered search at two tag selectivities, a concurrency sweep, an optional end-to-end HTTP load, a verdict
 * against thresholds, and the run stored in benchmark_runs with reports/<run>/report.{json,md,html}.
 */
export async function searchBenchmark(input: SearchBenchmarkInput = {}): Promise<SearchBenchmarkResult> {
  const name = workflowInfo().workflowId;
  const d = { ...CAPACITY_DEFAULTS, ...input.dataset };
  const dataset: DatasetSpec = {
    runKey: input.dataset?.runKey ?? defaultRunKey(d),
    dimensions: d.dimensions,
    clusters: d.clusters,
    sigma: d.sigma,
    generatorSeed: d.generatorSeed,
  };
  const thresholds: BenchmarkThresholds = { ...DEFAULT_THRESHOLDS, ...input.thresholds };
  const queryCount = positiveInt('queryCount', input.queryCount ?? SEARCH_BENCHMARK_DEFAULTS.queryCount);
  const concurrency = positiveInts('concurrency', input.concurrency ?? SEARCH_BENCHMARK_DEFAULTS.concurrency);
  const concurrencySeconds = input.concurrencySeconds ?? SEARCH_BENCHMARK_DEFAULTS.concurrencySeconds;
  if (!(concurrencySeconds > 0)) throw ApplicationFailure.nonRetryable(`concurrencySeconds must be positive, got ${concurrencySeconds}`, 'InvalidBenchmarkInput');
  // http: {} loads the API the worker serves; no http at all skips the phase.
  const http = input.http ? { ...SEARCH_BENCHMARK_DEFAULTS.http, ...input.http } : null;
  const httpSkippedReason = http ? null : 'not requested (pass http: {} for the worker-served API, or http.baseUrl)';

  const requestedType = input.indexType === undefined ? undefined : indexTypes('indexType', [input.indexType])[0];
  // The measured type first, so the comparison's sizes are relative to it.
  const compared = indexTypes('compareIndexTypes', input.compareIndexTypes ?? []);
  const attributes = new ReadinessAttributes();
  attributes.set('benchmark', 0);
  // Built before the target is described: a compared type may have no index yet.
  const builds = new Map<IndexType, { bytes: number; buildSeconds: number; indexName: string }>();
  const buildWarnings: string[] = [];
  for (const type of compared) {
    const built = await buildIndex.executeWithOptions({ summary: `build the ${type} HNSW index for the comparison (timed)` }, [
      { indexType: type, maintenanceWorkMemCapMb: 2048, parallelWorkers: 1, prewarm: false, rebuild: true },
    ]);
    builds.set(type, { bytes: built.indexBytes, buildSeconds: built.buildSeconds, indexName: built.indexName });
    buildWarnings.push(...built.warnings.map((w) => `${type} index build: ${w}`));
  }
  const target = await describeBenchmarkTarget({ dataset, ...(requestedType && { indexType: requestedType }) });
  const indexType = requestedType ?? target.searchDefaults.indexType;
  const comparedTypes = compared.length > 0 ? [indexType, ...compared.filter((t) => t !== indexType)] : [];
  const productionEf = positiveInt('productionEfSearch', input.productionEfSearch ?? target.searchDefaults.efSearch);
  const efList = positiveInts('efSearch', [...(input.efSearch ?? SEARCH_BENCHMARK_DEFAULTS.efSearch), productionEf]);
  const k = positiveInt('k', input.k ?? target.searchDefaults.k);
  const warmupQueries = positiveInt('warmupQueries', input.warmupQueries ?? queryCount);
  const queries: BenchmarkQueries = { dataset, queryCount, querySeed: input.querySeed ?? SEARCH_BENCHMARK_DEFAULTS.querySeed, centres: target.centres };

  const rawClients = positiveInts('rawFloorClients', input.rawFloorClients ?? SEARCH_BENCHMARK_DEFAULTS.rawFloorClients);
  const ceiling = http && input.httpCeiling ? { ...SEARCH_BENCHMARK_DEFAULTS.httpCeiling, ...input.httpCeiling } : null;
  const rawRounds = positiveInt('rawFloorRounds', input.rawFloorRounds ?? SEARCH_BENCHMARK_DEFAULTS.rawFloorRounds);
  const roundSeconds = input.rawFloorRoundSeconds ?? SEARCH_BENCHMARK_DEFAULTS.rawFloorRoundSeconds;
  if (!(roundSeconds > 0)) throw ApplicationFailure.nonRetryable(`rawFloorRoundSeconds must be positive, got ${roundSeconds}`, 'InvalidBenchmarkInput');
  if (input.mixed && !http) throw ApplicationFailure.nonRetryable('the mixed phase runs the HTTP load with writes: it needs http too (http: {} for the worker-served API)', 'InvalidBenchmarkInput');
  const mixed = http && input.mixed ? { ...SEARCH_BENCHMARK_DEFAULTS.mixed, ...input.mixed } : null;
  const wantsFiltered = input.filtered ?? true;
  const steps = 3 + comparedTypes.length + efList.length + (wantsFiltered ? 1 + target.filterTags.length : 0) + concurrency.length +
    rawClients.length * rawRounds + (http ? 1 : 0) + (ceiling ? 1 : 0) + (mixed ? 1 : 0);
  const progress = new ProgressTracker('searchBenchmark', steps, 'steps');
  const lines: [string, string][] = [['searchable vectors', `${target.traceCount} × ${dataset.dimensions}`], ['index type', indexType]];
  const step = (label: string, line?: [string, string]) => {
    if (line) lines.push(line);
    progress.advance(1, label);
    attributes.set('benchmark', (100 * progress.state.done) / steps);
    progress.publish(`Search benchmark — ${name}`, [...lines, ['now', label]]);
  };

  const groundTruth = await prepareBenchmarkGroundTruth.executeWithOptions({ summary: `exact top-10 for ${queryCount} queries` }, [
    { queries, traceCount: target.traceCount, lanes: input.groundTruthLanes ?? SEARCH_BENCHMARK_DEFAULTS.groundTruthLanes },
  ]);
  step('ground truth ready', ['ground truth', groundTruth.cached ? 'cached' : `computed in ${groundTruth.seconds} s`]);

  // Each compared type: warmed up (its plan checked), then the serial pass at the production ef_search.
  const comparisonRows: IndexTypeComparison['rows'] = [];
  for (const type of comparedTypes) {
    const build = builds.get(type);
    if (!build) throw ApplicationFailure.nonRetryable(`no build of the ${type} index in this run`, 'InvalidBenchmarkInput');
    const warm = await warmUpSearch.executeWithOptions({ summary: `${type} index: warm-up, ${warmupQueries} queries` }, [
      { queries, efSearch: productionEf, k, count: warmupQueries, prewarm: input.prewarm ?? true, indexType: type },
    ]);
    const r = await measureSerialSearch.executeWithOptions({ summary: `${type} index: serial, ef_search ${productionEf}` }, [
      { queries, efSearch: productionEf, k, cacheKey: groundTruth.cacheKey, indexType: type },
    ]);
    comparisonRows.push({
      indexType: type, indexName: build.indexName, bytes: build.bytes, buildSeconds: build.buildSeconds, plan: warm.plan, usesIndex: warm.usesIndex,
      latency: r.latency, rawLatency: r.rawLatency, recall: r.recall, rerankRecall: r.rerankRecall, widenedShare: r.widenedShare, uncertifiedShare: r.uncertifiedShare,
    });
    step(`${type} index compared`, [
      `${type} index`, `${build.bytes} bytes, built in ${build.buildSeconds} s, p99 ${r.latency.p99} ms, recall@${k} ${r.recall.mean}, re-rank recall ${r.rerankRecall.mean}`,
    ]);
  }
  const indexTypeComparison: IndexTypeComparison | null = comparisonRows.length > 0 ? { efSearch: productionEf, k, rows: comparisonRows } : null;
  // The other types' indexes go once compared: the remaining phases measure the index the search
  // path uses alone in shared_buffers, as in production.
  for (const type of comparedTypes.filter((t) => t !== indexType)) {
    await dropCapacityIndex.executeWithOptions({ summary: `drop the compared ${type} index` }, [{ indexType: type }]);
  }

  const warmup = await warmUpSearch.executeWithOptions({ summary: `warm-up, ${warmupQueries} queries` }, [
    { queries, efSearch: productionEf, k, count: warmupQueries, prewarm: input.prewarm ?? true, indexType },
  ]);
  step('warmed up', ['warm-up p99', `${warmup.latency.p99} ms (${warmup.prewarmed ? 'prewarmed' : 'not prewarmed'})`]);

  const serial: BenchmarkReport['serial'] = [];
  for (const efSearch of efList) {
    const r = await measureSerialSearch.executeWithOptions({ summary: `serial, ef_search ${efSearch}` }, [{ queries, efSearch, k, cacheKey: groundTruth.cacheKey, indexType }]);
    serial.push(r);
    step(`serial ef_search ${efSearch} done`, [
      `ef_search ${efSearch}`, `p99 ${r.latency.p99} ms (raw ${r.rawLatency.p99} ms), recall@${k} ${r.recall.mean}, re-rank recall ${r.rerankRecall.mean}`,
    ]);
  }

  let filtered: FilteredReport | null = null;
  if (wantsFiltered) {
    const prepared = await prepareFilteredBenchmark.executeWithOptions({ summary: `capacity tags and exact filtered top-10 for ${queryCount} queries` }, [
      { queries, traceCount: target.traceCount, lanes: input.groundTruthLanes ?? SEARCH_BENCHMARK_DEFAULTS.groundTruthLanes },
    ]);
    step('filtered ground truth ready', ['capacity tags', `${prepared.backfill.inserted} backfilled of ${prepared.backfill.expected}`]);
    const selectivities: FilteredReport['selectivities'] = [];
    for (const t of prepared.targets) {
      const pass = t.groundTruth
        ? await measureFilteredSearch.executeWithOptions({ summary: `filtered by ${t.tag}, ef_search ${productionEf}` }, [
          { queries, efSearch: productionEf, k, tag: t.tag, cacheKey: t.groundTruth.cacheKey, indexType },
        ])
        : null;
      selectivities.push({ ...t, pass });
      step(`filtered ${t.tag} done`, [
        `filtered ${t.tag}`, pass ? `${t.rows} rows, p99 ${pass.latency.p99} ms, recall@${k} ${pass.recall.mean}` : `no searchable row has ${t.tag}`,
      ]);
    }
    filtered = { backfill: prepared.backfill, selectivities };
  }

  const concurrent = (statement: 'search' | 'raw', clients: number, seconds: number) =>
    measureConcurrentSearch.executeWithOptions({ summary: `${statement} statement, ${clients} clients for ${seconds} s` }, [
      { queries, efSearch: productionEf, k, statement, clients, seconds, indexType },
    ]);
  const concurrencyResults: BenchmarkReport['concurrency'] = [];
  for (const clients of concurrency) {
    const r = await concurrent('search', clients, concurrencySeconds);
    concurrencyResults.push(r);
    step(`${clients} clients done`, [`${clients} clients`, `${r.qps} QPS, p99 ${r.latency.p99} ms, ${r.errors} errors`]);
  }
  // Throughput against the raw floor: short phases of each, alternating which goes first, so a
  // slow spell on a shared host hits both sides of a round instead of one whole side.
  const throughputRounds: BenchmarkReport['throughputRounds'] = [];
  for (const clients of rawClients) {
    for (let round = 0; round < rawRounds; round++) {
      const searchFirst = round % 2 === 0;
      const first = await concurrent(searchFirst ? 'search' : 'raw', clients, roundSeconds);
      const second = await concurrent(searchFirst ? 'raw' : 'search', clients, roundSeconds);
      const [search, raw] = searchFirst ? [first, second] : [second, first];
      throughputRounds.push({ clients, round: round + 1, searchFirst, search, raw });
      step(`raw floor round ${round + 1} at ${clients} clients`, [`raw floor, ${clients} clients`, `search ${search.qps} / raw ${raw.qps} QPS`]);
    }
  }

  const runHttp = async (phase: string, load: { users: number; seconds: number; ratePerUser: number | null; warmupSeconds?: number }): Promise<HttpLoadResult> => {
    const { runHttpBenchmark } = proxyActivities<Activities>({
      startToCloseTimeout: `${Math.ceil(load.seconds) + 300} seconds`,
      heartbeatTimeout: '1 minute',
      retry: { initialInterval: '5 seconds', maximumAttempts: 2 },
    });
    const mode = load.ratePerUser === null ? 'closed loop' : `open loop at ${load.ratePerUser}/s per user`;
    const r = await runHttpBenchmark.executeWithOptions({ summary: `${phase}: ${load.users} users, ${mode}, ${load.seconds} s on ${http?.baseUrl ?? 'the worker-served API'}` }, [
      { baseUrl: http?.baseUrl, users: load.users, seconds: load.seconds, ratePerUser: load.ratePerUser ?? undefined, limit: http?.limit ?? k, runTag: `${name}-${phase}`, indexType, warmupSeconds: load.warmupSeconds },
    ]);
    step(`${phase} done`, [phase, `${r.qps} QPS, p99 ${r.latency.p99} ms, ${r.non2xx} non-2xx, ${r.errors} errors`]);
    return r;
  };
  const httpResult = http ? await runHttp('HTTP load', { users: http.users, seconds: http.seconds, ratePerUser: http.ratePerUser ?? null, warmupSeconds: http.warmupSeconds }) : null;
  // The ceiling and the mixed phase follow the HTTP load on a warm API: no warm-up of their own.
  const httpCeiling = ceiling ? await runHttp('HTTP ceiling', { users: ceiling.users, seconds: ceiling.seconds, ratePerUser: null, warmupSeconds: http ? 0 : undefined }) : null;
  async function runMixed(load: NonNullable<typeof http>, m: MixedSettings): Promise<MixedLoadResult> {
    const { runMixedBenchmark } = proxyActivities<Activities>({
      startToCloseTimeout: `${Math.ceil(load.seconds + m.graceSeconds) + 300} seconds`,
      heartbeatTimeout: '1 minute',
      retry: { initialInterval: '5 seconds', maximumAttempts: 2 },
    });
    const r = await runMixedBenchmark.executeWithOptions(
      { summary: `search while writing: ${load.users} users searching, ${m.writesPerMinute} writes/min, backfill in batches of ${m.backfillBatchSize}` },
      [{ baseUrl: load.baseUrl, users: load.users, seconds: load.seconds, ratePerUser: load.ratePerUser ?? undefined, limit: load.limit ?? k, runTag: `${name}-mixed`, indexType, warmupSeconds: 0, ...m }],
    );
    step('search while writing done', [
      'search while writing', `read p99 ${r.read.latency.p99} ms, ${r.writes.ok} contributions, searchable after p50 ${r.delay.p50Ms ?? '—'} / max ${r.delay.maxMs ?? '—'} ms, ${r.delay.neverSearchable} never`,
    ]);
    return r;
  }
  const mixedResult = http && mixed ? await runMixed(http, mixed) : null;
  const rawFloor = summarizeRawFloor({ productionEfSearch: productionEf, k, serial, throughputRounds, httpCeiling });

  const { verdict, checks } = judgeBenchmark(thresholds, {
    productionEfSearch: productionEf, serial, concurrency: concurrencyResults, throughputRounds, http: httpResult, httpCeiling, rawFloor, filtered,
  });
  const report: BenchmarkReport = {
    schemaVersion: 2,
    runId: uuid4(),
    name,
    workflowId: name,
    createdAt: new Date(Date.now()).toISOString(),
    verdict,
    thresholds,
    checks,
    environment: target.environment,
    dataset: {
      ...dataset,
      traceCount: target.traceCount,
      capacityRows: target.capacityRows,
      centres: { kind: target.centres.kind },
      modelId: target.modelId,
      queryCount,
      querySeed: queries.querySeed,
      loadRowsPerSecond: input.context?.loadRowsPerSecond ?? null,
    },
    index: { ...target.index, buildSeconds: builds.get(indexType)?.buildSeconds ?? input.context?.indexBuildSeconds ?? null },
    groundTruth,
    method: {
      k,
      firstCandidates: firstCandidates(k, productionEf),
      wideCandidates: wideCandidates(k),
      productionEfSearch: productionEf,
      iterativeScan: 'relaxed_order',
      exactFilterMaxRows: EXACT_FILTER_MAX_ROWS,
      latencyUnit: 'microseconds in an HDR histogram (3 significant digits), reported in ms',
      warmupQueries,
      concurrencySeconds,
    },
    warmup,
    serial,
    concurrency: concurrencyResults,
    throughputRounds,
    http: httpResult,
    httpSkippedReason,
    httpCeiling,
    mixed: mixedResult,
    rawFloor,
    indexTypes: indexTypeComparison,
    filtered,
    warnings: [
      ...target.warnings,
      ...buildWarnings,
      ...(warmup.usesIndex ? [] : [`the measured statement does not use the HNSW index (${warmup.plan}): the figures are of that plan, and recall is trivially exact`]),
      ...(filtered?.selectivities ?? []).flatMap((f) =>
        f.pass && !f.pass.usesIndex ? [`the search statement filtered by ${f.tag} does not use the HNSW index (${f.pass.plan}): its recall is exact by construction`] : []),
    ],
  };
  const files = await storeBenchmarkReport.executeWithOptions({ summary: `store ${name} and write its reports` }, [{ report, reportsDir: input.reportsDir }]);
  step('stored', ['verdict', `${verdict.toUpperCase()} — ${files.html}`]);
  progress.finish(verdict === 'pass' ? 'succeeded' : 'failed', checks.filter((c) => c.status === 'fail').map((c) => c.name).join('; ') || undefined);
  return { name, runId: report.runId, verdict, checks, files, report };
}
