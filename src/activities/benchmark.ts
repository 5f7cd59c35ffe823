import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { CentreSource } from '../capacity/centres.js';
import { describeCentreSource } from '../capacity/centres.js';
import { describeEnvironment, describeIndex, type BenchmarkEnvironment, type IndexFacts } from '../benchmark/environment.js';
import { computeGroundTruth, GROUND_TRUTH_K, GroundTruthError, loadGroundTruth, searchableCount } from '../benchmark/ground-truth.js';
import { HttpTargetError, runHttpLoad, type HttpLoadOptions, type HttpLoadResult } from '../benchmark/http-load.js';
import { runMixedLoad, type MixedLoadResult } from '../benchmark/mixed-load.js';
import { groundTruthKey, loadQuerySet, type DatasetSpec, type QuerySetSpec } from '../benchmark/query-set.js';
import {
  measureConcurrency, measureFiltered, measureSerial, warmUp,
  type ConcurrencyResult, type FilteredPassResult, type SerialResult, type SqlRunOptions, type SqlStatementKind, type WarmupResult,
} from '../benchmark/sql-bench.js';
import { CAPACITY_TAGS } from '../capacity/generator.js';
import { backfillCapacityTags, type TagBackfill } from '../capacity/tags.js';
import { saveBenchmarkRun } from '../benchmark/store.js';
import { TokenBucket } from '../ratelimit/token-bucket.js';
import { ensureCapacityApi } from '../api/capacity-api.js';
import { assertCapacityTarget, ensureCapacitySchema } from '../db/capacity-database.js';
import { countRunRows } from '../capacity/population.js';
import { DEFAULT_GOLDEN_QUERIES, resolveProjectPath } from '../paths.js';
import type { BenchmarkReport } from '../report/schema.js';
import type { WrittenReport } from '../report/write.js';
import { loadGoldenQueries } from '../search/golden.js';
import { DEFAULT_EF_SEARCH } from '../search/search.js';
import { DEFAULT_INDEX_TYPE, type IndexType } from '../db/hnsw.js';
import type { ActivityDeps } from './deps.js';

/** What every measuring activity needs to rebuild the same query set. */
export interface BenchmarkQueries {
  dataset: DatasetSpec;
  queryCount: number;
  querySeed: number;
  /** Pinned by describeBenchmarkTarget, so every activity of a run draws identical queries. */
  centres: CentreSource;
}

export interface BenchmarkTarget {
  environment: BenchmarkEnvironment;
  index: IndexFacts;
  traceCount: number;
  capacityRows: number;
  modelId: string;
  centres: CentreSource;
  /** The search path's own settings, so the benchmark defaults to measuring exactly them. */
  searchDefaults: { efSearch: number; k: number; indexType: IndexType };
  /** The capacity tags the filtered phase measures, one selectivity each. */
  filterTags: string[];
  warnings: string[];
}

export interface GroundTruthSummary {
  cacheKey: string;
  cached: boolean;
  k: number;
  planNode: string;
  seconds: number;
  exactP50Ms: number | null;
}

/** One tag of the filtered phase: how many searchable rows carry it, and its exact filtered answers. */
export interface FilteredTarget {
  tag: string;
  /** The share the generator assigns the tag with. */
  nominalShare: number;
  /** Searchable rows carrying the tag, and their share of all searchable rows. */
  rows: number;
  share: number;
  /** Null when no searchable row carries the tag (nothing to measure). */
  groundTruth: GroundTruthSummary | null;
}

export interface FilteredPreparation {
  /** Tags written for capacity rows loaded before rows had tags (inserted 0: they had them). */
  backfill: TagBackfill;
  targets: FilteredTarget[];
}

export interface MeasureInput {
  queries: BenchmarkQueries;
  efSearch: number;
  /** Results per search (recall@k and re-rank recall are judged at this k). */
  k: number;
  /** The index the statements are written for; default DEFAULT_INDEX_TYPE. */
  indexType?: IndexType;
}

export interface HttpBenchmarkInput {
  /** Unset: an API over the capacity database, in a child process of this worker (src/api/capacity-api.ts). */
  baseUrl?: string;
  users: number;
  seconds: number;
  ratePerUser?: number;
  limit: number;
  runTag: string;
  /** The index type the worker-served API searches with (ignored with baseUrl); unset: SEARCH_INDEX_TYPE. */
  indexType?: IndexType;
  /** Unmeasured load before the measured window (http-load.ts; default HTTP_WARMUP_SECONDS). */
  warmupSeconds?: number;
}

/** The mixed phase: the HTTP load's search users and rate, plus writers, the embedding backfill and the delay tracking (benchmark/mixed-load.ts). */
export interface MixedBenchmarkInput extends HttpBenchmarkInput {
  writesPerMinute: number;
  maxPerWriterPerMinute: number;
  graceSeconds: number;
  pollMs: number;
  backfillBatchSize: number;
  backfillIdleMs: number;
}

/** Heartbeats at most once a second (the last one of a phase always goes out): phase and queries done. */
function progressBeat(phase: string) {
  const ctx = Context.current();
  let last = 0;
  return (done: number, total: number | null) => {
    const now = Date.now();
    if (now - last < 1_000 && done !== total) return;
    last = now;
    ctx.heartbeat({ phase, done, total });
  };
}

function nonRetryableFor<T>(promise: Promise<T>): Promise<T> {
  return promise.catch((err: unknown) => {
    if (err instanceof GroundTruthError || err instanceof HttpTargetError) throw ApplicationFailure.nonRetryable(err.message, err.name);
    throw err;
  });
}

export function createBenchmarkActivities(deps: ActivityDeps) {
  // The benchmark measures the capacity database; only its reports are stored in the live one.
  const { pool: livePool, capacityPool: pool, config, embedder } = deps;
  const buckets = new TokenBucket(deps.redis);
  const querySpec = (q: BenchmarkQueries): QuerySetSpec => ({ dataset: q.dataset, queryCount: q.queryCount, querySeed: q.querySeed, modelId: embedder.modelId });
  const sqlOptions = (phase: string, input: { efSearch: number; k: number; indexType?: IndexType }): SqlRunOptions => ({
    databaseUrl: config.capacityDatabaseUrl,
    efSearch: input.efSearch,
    k: input.k,
    indexType: input.indexType ?? DEFAULT_INDEX_TYPE,
    onProgress: progressBeat(phase),
    signal: Context.current().cancellationSignal,
  });

  /**
   * Runs an HTTP load with the golden queries against the given API or the capacity API, and resets
   * the buckets of every user it registered afterwards, however it ends.
   */
  async function withLoadUsers<T>(input: HttpBenchmarkInput, load: (options: HttpLoadOptions) => Promise<T>): Promise<T> {
    const golden = await loadGoldenQueries(resolveProjectPath(DEFAULT_GOLDEN_QUERIES));
    const beat = progressBeat(`HTTP load ${input.users} users`);
    const baseUrl = input.baseUrl ?? (await ensureCapacityApi(deps, input.indexType)).baseUrl;
    const userIds: string[] = [];
    try {
      return await nonRetryableFor(
        load({
          baseUrl,
          users: input.users,
          seconds: input.seconds,
          ratePerUser: input.ratePerUser,
          warmupSeconds: input.warmupSeconds,
          limit: input.limit,
          // Per attempt: a retry never collides with users an interrupted attempt could not delete.
          runTag: `${input.runTag}-a${Context.current().info.attempt}`,
          queries: golden.map((g) => g.query),
          onProgress: (n) => beat(n, null),
          onUserRegistered: (u) => userIds.push(u.userId),
          signal: Context.current().cancellationSignal,
        }),
      );
    } finally {
      // The load deleted the users through the API; their buckets go from this worker's Redis
      // (the API's when it is this worker's or shares its Redis; elsewhere the keys do not exist).
      // Best effort: bucket keys expire on their own within BUCKET_TTL_SECONDS anyway.
      await buckets.reset(userIds).catch(() => 0);
    }
  }

  return {
    async describeBenchmarkTarget(input: { dataset: DatasetSpec; indexType?: IndexType }): Promise<BenchmarkTarget> {
      const indexType = input.indexType ?? DEFAULT_INDEX_TYPE;
      if (input.dataset.dimensions !== embedder.dimensions) {
        throw ApplicationFailure.nonRetryable(
          `dataset dimensions ${input.dataset.dimensions} do not match the embedder's ${embedder.dimensions}; use ${embedder.dimensions}`,
          'InvalidBenchmarkInput',
        );
      }
      await ensureCapacitySchema(config);
      const environment = await describeEnvironment(config.capacityDatabaseUrl);
      const index = await describeIndex(pool, environment.sharedBuffersBytes, indexType);
      const traceCount = await searchableCount(pool, embedder.modelId);
      if (traceCount === 0) {
        throw ApplicationFailure.nonRetryable(
          `no searchable vectors for model ${embedder.modelId}: populate capacity data first (capacityPopulation, or npm run bench:search)`,
          'NothingToBenchmark',
        );
      }
      if (!index.present || !index.valid) {
        throw ApplicationFailure.nonRetryable(
          `the HNSW index ${index.name} (${indexType}) is ${index.present ? 'invalid' : 'missing'}: run the indexBuild workflow with indexType ${indexType} ` +
            `(capacity index --index-type ${indexType}) before benchmarking`,
          'IndexMissing',
        );
      }
      const { rows } = await pool.query<{ rows: number }>('SELECT coalesce(sum(rows), 0)::int AS rows FROM capacity_batches WHERE run_key = $1', [input.dataset.runKey]);
      // The ledger says how many rows the run wrote; the rows themselves say how many are there.
      const ledgerRows = rows[0]!.rows;
      const capacityRows = ledgerRows === 0 ? 0 : await countRunRows(pool, input.dataset.runKey, ledgerRows);
      const centres = describeCentreSource({
        clusters: input.dataset.clusters, dimensions: input.dataset.dimensions, generatorSeed: input.dataset.generatorSeed,
      });
      const warnings: string[] = [];
      if (capacityRows === 0) warnings.push(`no capacity rows recorded for run key ${input.dataset.runKey}: the queries' clusters may not match the data`);
      if (capacityRows < ledgerRows) warnings.push(`the ledger records ${ledgerRows} rows for run key ${input.dataset.runKey}, but only ${capacityRows} are in the table: run capacityPopulation again to repair it`);
      if (!index.fitsInSharedBuffers) warnings.push(`the index (${index.bytes} bytes) does not fit in shared_buffers: latencies include disk reads`);
      return {
        environment, index, traceCount, capacityRows, modelId: embedder.modelId, centres, warnings,
        searchDefaults: { efSearch: DEFAULT_EF_SEARCH, k: GROUND_TRUTH_K, indexType: DEFAULT_INDEX_TYPE },
        filterTags: CAPACITY_TAGS.map((t) => t.name),
      };
    },

    async prepareBenchmarkGroundTruth(input: { queries: BenchmarkQueries; traceCount: number; lanes: number }): Promise<GroundTruthSummary> {
      const spec = querySpec(input.queries);
      const cacheKey = groundTruthKey(spec, input.queries.centres, input.traceCount);
      const hit = await loadGroundTruth(pool, cacheKey);
      // A row cached before re-ranked neighbours existed (NULL) is a miss: recomputing fills it in.
      if (hit?.reranked && hit.neighbours.length === spec.queryCount && hit.reranked.length === spec.queryCount) {
        return { cacheKey, cached: true, k: GROUND_TRUTH_K, planNode: hit.planNode, seconds: hit.seconds, exactP50Ms: hit.exactP50Ms };
      }
      const set = await loadQuerySet(pool, spec, input.queries.centres);
      const truth = await nonRetryableFor(
        computeGroundTruth(pool, set, {
          databaseUrl: config.capacityDatabaseUrl,
          cacheKey,
          traceCount: input.traceCount,
          lanes: input.lanes,
          onProgress: progressBeat('ground truth (exact scan)'),
          signal: Context.current().cancellationSignal,
        }),
      );
      return { cacheKey, cached: false, k: GROUND_TRUTH_K, planNode: truth.planNode, seconds: truth.seconds, exactP50Ms: truth.exactP50Ms };
    },

    /**
     * The filtered phase's data: the capacity rows' tags (backfilled when the data predates them),
     * each tag's measured selectivity, and the exact filtered ground truth per tag, cached like the
     * unfiltered one under the unfiltered key plus the tag and its row count.
     */
    async prepareFilteredBenchmark(input: { queries: BenchmarkQueries; traceCount: number; lanes: number }): Promise<FilteredPreparation> {
      const { dataset } = input.queries;
      const backfill = await backfillCapacityTags(pool, dataset.runKey, dataset.generatorSeed);
      const spec = querySpec(input.queries);
      const baseKey = groundTruthKey(spec, input.queries.centres, input.traceCount);
      const targets: FilteredTarget[] = [];
      for (const { name: tag, share: nominalShare } of CAPACITY_TAGS) {
        const rows = await searchableCount(pool, embedder.modelId, tag);
        const target = { tag, nominalShare, rows, share: input.traceCount > 0 ? rows / input.traceCount : 0 };
        if (rows === 0) {
          targets.push({ ...target, groundTruth: null });
          continue;
        }
        const cacheKey = `${baseKey}:tag=${tag}:n${rows}`;
        const hit = await loadGroundTruth(pool, cacheKey);
        if (hit?.reranked && hit.reranked.length === spec.queryCount) {
          targets.push({ ...target, groundTruth: { cacheKey, cached: true, k: GROUND_TRUTH_K, planNode: hit.planNode, seconds: hit.seconds, exactP50Ms: hit.exactP50Ms } });
          continue;
        }
        const set = await loadQuerySet(pool, spec, input.queries.centres);
        const truth = await nonRetryableFor(
          computeGroundTruth(pool, set, {
            databaseUrl: config.capacityDatabaseUrl,
            cacheKey,
            traceCount: rows,
            lanes: input.lanes,
            tag,
            onProgress: progressBeat(`filtered ground truth (${tag})`),
            signal: Context.current().cancellationSignal,
          }),
        );
        targets.push({ ...target, groundTruth: { cacheKey, cached: false, k: GROUND_TRUTH_K, planNode: truth.planNode, seconds: truth.seconds, exactP50Ms: truth.exactP50Ms } });
      }
      return { backfill, targets };
    },

    async measureFilteredSearch(input: MeasureInput & { tag: string; cacheKey: string }): Promise<FilteredPassResult> {
      const set = await loadQuerySet(pool, querySpec(input.queries), input.queries.centres);
      const truth = await loadGroundTruth(pool, input.cacheKey);
      if (!truth?.reranked || truth.reranked.length !== set.params.length) {
        throw ApplicationFailure.nonRetryable(`filtered ground truth ${input.cacheKey} is missing or incomplete; re-run the benchmark to recompute it`, 'GroundTruthMissing');
      }
      return measureFiltered(set, truth.reranked, input.tag, sqlOptions(`filtered ${input.tag}`, input));
    },

    async warmUpSearch(input: MeasureInput & { count: number; prewarm: boolean }): Promise<WarmupResult> {
      const set = await loadQuerySet(pool, querySpec(input.queries), input.queries.centres);
      return warmUp(set, input.count, input.prewarm, sqlOptions('warm-up', input));
    },

    async measureSerialSearch(input: MeasureInput & { cacheKey: string }): Promise<SerialResult> {
      const set = await loadQuerySet(pool, querySpec(input.queries), input.queries.centres);
      const truth = await loadGroundTruth(pool, input.cacheKey);
      if (!truth?.reranked || truth.neighbours.length !== set.params.length || truth.reranked.length !== set.params.length) {
        throw ApplicationFailure.nonRetryable(`ground truth ${input.cacheKey} is missing or incomplete; re-run the benchmark to recompute it`, 'GroundTruthMissing');
      }
      return measureSerial(set, { neighbours: truth.neighbours, reranked: truth.reranked }, sqlOptions(`serial ef_search=${input.efSearch}`, input));
    },

    async measureConcurrentSearch(input: MeasureInput & { statement: SqlStatementKind; clients: number; seconds: number }): Promise<ConcurrencyResult> {
      const set = await loadQuerySet(pool, querySpec(input.queries), input.queries.centres);
      return measureConcurrency(set, input.statement, input.clients, input.seconds, sqlOptions(`concurrency ${input.statement} ${input.clients} clients`, input));
    },

    async runHttpBenchmark(input: HttpBenchmarkInput): Promise<HttpLoadResult> {
      return withLoadUsers(input, (options) => runHttpLoad(options));
    },

    async runMixedBenchmark(input: MixedBenchmarkInput): Promise<MixedLoadResult> {
      // Contributions are written, embedded and deleted in the capacity database, never the live one.
      await ensureCapacitySchema(config);
      // The phase removes all it writes (its writers, and their contributions with them), so only the
      // live-database refusal applies, not the production guard for bulk synthetic data.
      await assertCapacityTarget(config, { live: livePool, capacity: pool }, true, 'write the mixed phase\'s contributions');
      return withLoadUsers(input, (search) =>
        runMixedLoad({
          search,
          writesPerMinute: input.writesPerMinute,
          maxPerWriterPerMinute: input.maxPerWriterPerMinute,
          graceSeconds: input.graceSeconds,
          pollMs: input.pollMs,
          backfill: { batchSize: input.backfillBatchSize, idleMs: input.backfillIdleMs },
          pool,
          embedder,
        }),
      );
    },

    async storeBenchmarkReport(input: { report: BenchmarkReport; reportsDir?: string }): Promise<WrittenReport> {
      // Loaded on use: the chart renderer is heavy and only this activity needs it.
      const { writeReportFiles } = await import('../report/write.js');
      const written = await writeReportFiles(input.report, input.reportsDir).catch((err: Error) => {
        throw err.name === 'InvalidReportError' ? ApplicationFailure.nonRetryable(err.message, err.name) : err;
      });
      await saveBenchmarkRun(livePool, input.report);
      return written;
    },
  };
}
