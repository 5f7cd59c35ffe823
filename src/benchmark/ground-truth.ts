/**
 * Exact top-k neighbours of the benchmark queries, computed in process: the searchable rows are
 * loaded once in binary into shared memory and scanned by worker threads with SIMD dot products
 * (src/benchmark/exact/), which yields both the exact nearest rows and the exact top-k by the search
 * path's re-rank score. A sample of queries is then checked against PostgreSQL's own exact answer
 * (EXACT_SQL with every index access path switched off, verified by EXPLAIN to be a sequential
 * scan). Cached per dataset in benchmark_ground_truth.
 */
import pg from 'pg';
import { explain } from './plan.js';
import { compareTopK, type ScoredId } from './exact/compare.js';
import { normaliseRows, writeQueries } from './exact/exact-data.js';
import { hasTagPredicate, loadPredicate, loadSearchableRows, rowId, searchablePredicate } from './exact/load-rows.js';
import { scanInWorkers } from './exact/parallel.js';
import type { RankedRows } from './exact/top-k.js';
import type { QuerySet } from './query-set.js';

export const GROUND_TRUTH_K = 10;
/** Queries, spread over the set, whose in-process neighbours are checked against PostgreSQL's exact scan. */
export const VERIFY_SAMPLE = 8;
/** A query this close to a row (cosine distance) is that row: the query set is not held out. */
const COINCIDENT_DISTANCE = 1e-5;
const KEEPALIVE_MS = 1_000;

/**
 * PostgreSQL's exact nearest rows: the searchable set (the search statement's filters), with a tag
 * filter when `tagged` ($4 the tag), ordered by cosine distance. $1 query vector (binary or text),
 * $2 model id, $3 k.
 */
export const exactSql = (tagged: boolean): string => `SELECT t.id, 1 - (t.embedding <=> $1::vector) AS similarity
         FROM traces t
        WHERE ${searchablePredicate('$2')}${tagged ? ` AND ${hasTagPredicate('t.id', '$4')}` : ''}
        ORDER BY t.embedding <=> $1::vector
        LIMIT $3`;
export const EXACT_SQL = exactSql(false);
const exactParams = (vector: string | Buffer, modelId: string, k: number, tag: string | undefined): unknown[] =>
  tag === undefined ? [vector, modelId, k] : [vector, modelId, k, tag];

const EXACT_SETTINGS_SQL =
  `SELECT set_config('enable_indexscan', 'off', true), set_config('enable_bitmapscan', 'off', true), ` +
  `set_config('enable_indexonlyscan', 'off', true)`;

export class GroundTruthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GroundTruthError';
  }
}

export interface GroundTruth {
  cacheKey: string;
  cached: boolean;
  traceCount: number;
  /** Per query, its exact nearest ids, nearest first. */
  neighbours: string[][];
  /** Per query, the exact top-k ids by rerankScore(similarity, trust_score) over all rows, best first. */
  reranked: string[][];
  /** The plan of PostgreSQL's exact statement, used to verify a sample (e.g. "Limit > Sort > Seq Scan on traces"). */
  planNode: string;
  /**
   * The in-process equivalent of an exact query's latency: compute wall time × lanes ÷ queries,
   * i.e. the time one lane spends per query (amortised over blocks, so not a percentile).
   */
  exactP50Ms: number | null;
  seconds: number;
}

export interface SampleVerification {
  queries: number[];
  /** Ranks where PostgreSQL's id differs from ours within float rounding (ties). */
  swaps: number;
  maxSimilarityDelta: number;
  /** PostgreSQL's exact scan, per sampled query (ms). */
  sqlMs: number[];
}

/** A freshly computed ground truth, with where its time went. */
export interface ComputedGroundTruth extends GroundTruth {
  phases: { loadSeconds: number; computeSeconds: number; verifySeconds: number };
  verification: SampleVerification;
}

/** The searchable set: the rows the search statement can return for this model (with `tag`, for that tag filter). */
export async function searchableCount(pool: pg.Pool, modelId: string, tag?: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM traces WHERE ${loadPredicate('$1', tag === undefined ? null : '$2')}`, tag === undefined ? [modelId] : [modelId, tag],
  );
  return rows[0]!.n;
}

/** EXPLAINs the exact statement under the same settings; throws unless traces is read by a seq scan. */
export async function verifySequentialScan(client: pg.ClientBase, vector: string | Buffer, modelId: string, tag?: string): Promise<string> {
  await client.query(EXACT_SETTINGS_SQL);
  const { nodes, outline } = await explain(client, exactSql(tag !== undefined), exactParams(vector, modelId, GROUND_TRUTH_K, tag));
  const seq = nodes.some((n) => /Seq Scan$/.test(n['Node Type']) && n['Relation Name'] === 'traces');
  const indexed = nodes.find((n) => n['Index Name'] !== undefined && n['Relation Name'] === 'traces');
  if (!seq || indexed) {
    throw new GroundTruthError(
      `the exact-search plan is not a sequential scan of traces (${outline}${indexed ? `, uses ${indexed['Index Name']}` : ''}); ` +
        'ground truth would be approximate. Check that enable_indexscan/enable_bitmapscan/enable_indexonlyscan can be set locally.',
    );
  }
  return outline;
}

/** PostgreSQL's exact top-k for one query (exactSql, index scans off), in its own transaction; with `tag`, among that tag's rows. */
export async function exactSqlNeighbours(client: pg.ClientBase, vector: string | Buffer, modelId: string, k = GROUND_TRUTH_K, tag?: string): Promise<ScoredId[]> {
  await client.query('BEGIN');
  try {
    await client.query(EXACT_SETTINGS_SQL);
    const { rows } = await client.query<{ id: string; similarity: number }>(exactSql(tag !== undefined), exactParams(vector, modelId, k, tag));
    await client.query('COMMIT');
    return rows.map((r) => ({ id: r.id, similarity: r.similarity }));
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export interface CachedGroundTruth extends Omit<GroundTruth, 'cached' | 'reranked'> {
  /** Null in rows cached before re-ranked neighbours were computed: treat as a cache miss. */
  reranked: string[][] | null;
}

export async function loadGroundTruth(pool: pg.Pool, cacheKey: string): Promise<CachedGroundTruth | null> {
  const { rows } = await pool.query<{
    trace_count: number; neighbours: string[][]; reranked_neighbours: string[][] | null; plan_node: string; exact_p50_ms: number | null; seconds: number;
  }>(
    'SELECT trace_count, neighbours, reranked_neighbours, plan_node, exact_p50_ms, seconds FROM benchmark_ground_truth WHERE cache_key = $1',
    [cacheKey],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    cacheKey, traceCount: r.trace_count, neighbours: r.neighbours, reranked: r.reranked_neighbours,
    planNode: r.plan_node, exactP50Ms: r.exact_p50_ms, seconds: r.seconds,
  };
}

export interface ComputeOptions {
  databaseUrl: string;
  cacheKey: string;
  /** The searchable row count the cache key was made for; the loaded set must have exactly this many. */
  traceCount: number;
  /** Worker threads for the scan and connections for the sample check; keep this at the core count or below. */
  lanes: number;
  /** Queries done so far; called about every second throughout (it feeds activity heartbeats). */
  onProgress?: (done: number, total: number) => void;
  /** Aborting stops the load, the worker threads and the sample check. */
  signal?: AbortSignal;
  /** A filtered ground truth: the exact answers among the searchable rows carrying this tag (traceCount counts those). */
  tag?: string;
}

/** Spread evenly over the set, first and last included. */
export function sampleQueries(queryCount: number, size = VERIFY_SAMPLE): number[] {
  if (queryCount <= size) return Array.from({ length: queryCount }, (_, i) => i);
  return Array.from({ length: size }, (_, i) => Math.round((i * (queryCount - 1)) / (size - 1)));
}

const elapsedSeconds = (since: number) => Math.round((performance.now() - since) / 10) / 100;

/**
 * Computes exact neighbours (and re-ranked neighbours) for every query, checks a sample against
 * PostgreSQL, and stores them under `cacheKey` (first complete writer wins).
 */
export async function computeGroundTruth(pool: pg.Pool, set: QuerySet, options: ComputeOptions): Promise<ComputedGroundTruth> {
  const started = performance.now();
  const { signal } = options;
  const modelId = set.spec.modelId;
  const total = set.vectors.length;
  const lanes = Math.max(1, Math.floor(options.lanes));
  const connect = async (name: string) => {
    const client = new pg.Client({ connectionString: options.databaseUrl, application_name: `benchmark:ground-truth:${name}` });
    await client.connect();
    return client;
  };
  let done = 0;
  const keepAlive = setInterval(() => options.onProgress?.(done, total), KEEPALIVE_MS);
  try {
    signal?.throwIfAborted();
    const loadClient = await connect('load');
    // Cancelling mid-COPY: closing the connection ends the COPY and rejects the load.
    const closeLoad = () => void loadClient.end().catch(() => undefined);
    signal?.addEventListener('abort', closeLoad, { once: true });
    let loaded: Awaited<ReturnType<typeof loadSearchableRows>>;
    try {
      loaded = await loadSearchableRows(loadClient, { modelId, dimensions: set.spec.dataset.dimensions, queries: total, lanes, tag: options.tag });
    } catch (err) {
      signal?.throwIfAborted();
      throw err;
    } finally {
      signal?.removeEventListener('abort', closeLoad);
      await loadClient.end().catch(() => undefined);
    }
    signal?.throwIfAborted();
    const { data, ids } = loaded;
    if (data.layout.rows !== options.traceCount) {
      throw new GroundTruthError(
        `the searchable set has ${data.layout.rows} rows, the benchmark was planned for ${options.traceCount}: ` +
          'the table changed during the run; start the benchmark again',
      );
    }
    normaliseRows(data);
    writeQueries(data, set.vectors);
    const loadSeconds = elapsedSeconds(started);

    const computeStarted = performance.now();
    const results = await scanInWorkers(data, {
      lanes, k: GROUND_TRUTH_K, signal, onProgress: (d, t) => {
        done = d;
        options.onProgress?.(d, t);
      },
    });
    const computeMs = performance.now() - computeStarted;

    const nearest = results.reduce((min, r) => (r.nearest.scores.length > 0 ? Math.min(min, 1 - r.nearest.scores[0]!) : min), Number.POSITIVE_INFINITY);
    if (nearest < COINCIDENT_DISTANCE) {
      throw new GroundTruthError('a benchmark query coincides with a table row (distance 0): the query set must be held out; use another querySeed');
    }
    const idsOf = (ranked: RankedRows) => Array.from(ranked.rows, (row) => rowId(ids, row));
    const neighbours = results.map((r) => idsOf(r.nearest));
    const reranked = results.map((r) => idsOf(r.reranked));

    const verifyStarted = performance.now();
    const { planNode, verification } = await verifyAgainstSql(set, results.map((r) => r.nearest), idsOf, { connect, lanes, signal, tag: options.tag });
    const verifySeconds = elapsedSeconds(verifyStarted);

    const truth: ComputedGroundTruth = {
      cacheKey: options.cacheKey,
      cached: false,
      traceCount: options.traceCount,
      neighbours,
      reranked,
      planNode,
      exactP50Ms: total > 0 ? Math.round(((computeMs * lanes) / total) * 1000) / 1000 : null,
      seconds: elapsedSeconds(started),
      phases: { loadSeconds, computeSeconds: Math.round(computeMs / 10) / 100, verifySeconds },
      verification,
    };
    await storeGroundTruth(pool, set, truth);
    return truth;
  } finally {
    clearInterval(keepAlive);
  }
}

/**
 * Runs PostgreSQL's exact statement for the sampled queries (on `lanes` connections) and compares
 * ids; throws GroundTruthError naming the query and the ids on a real disagreement.
 */
async function verifyAgainstSql(
  set: QuerySet,
  nearest: RankedRows[],
  idsOf: (ranked: RankedRows) => string[],
  context: { connect: (name: string) => Promise<pg.Client>; lanes: number; signal?: AbortSignal; tag?: string },
): Promise<{ planNode: string; verification: SampleVerification }> {
  const modelId = set.spec.modelId;
  const sample = sampleQueries(set.vectors.length);
  const verification: SampleVerification = { queries: sample, swaps: 0, maxSimilarityDelta: 0, sqlMs: new Array<number>(sample.length) };
  let planNode = '';
  let next = 0;
  const lane = async (index: number) => {
    const client = await context.connect(`verify-${index}`);
    const cancel = () => void client.end().catch(() => undefined);
    context.signal?.addEventListener('abort', cancel, { once: true });
    try {
      if (index === 0) {
        await client.query('BEGIN');
        planNode = await verifySequentialScan(client, set.params[sample[0] ?? 0]!, modelId, context.tag);
        await client.query('COMMIT');
      }
      while (next < sample.length) {
        context.signal?.throwIfAborted();
        const i = next++;
        const q = sample[i]!;
        const t0 = performance.now();
        const sql = await exactSqlNeighbours(client, set.params[q]!, modelId, GROUND_TRUTH_K, context.tag);
        verification.sqlMs[i] = Math.round((performance.now() - t0) * 10) / 10;
        const ranked = nearest[q]!;
        const ours = idsOf(ranked).map((id, r) => ({ id, similarity: ranked.scores[r]! }));
        const result = compareTopK(ours, sql);
        if (result.mismatch) {
          throw new GroundTruthError(`in-process ground truth disagrees with PostgreSQL's exact scan for query ${q}: ${result.mismatch}`);
        }
        verification.swaps += result.swaps;
        verification.maxSimilarityDelta = Math.max(verification.maxSimilarityDelta, result.maxSimilarityDelta);
      }
    } finally {
      context.signal?.removeEventListener('abort', cancel);
      await client.end().catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(context.lanes, sample.length)) }, (_, i) => lane(i))).catch((err: unknown) => {
    // A cancelled check fails on its closed connections; report the cancellation, not that.
    context.signal?.throwIfAborted();
    throw err;
  });
  return { planNode, verification };
}

/** Inserts the result; replaces a cached row only if it predates re-ranked neighbours (NULL there). */
async function storeGroundTruth(pool: pg.Pool, set: QuerySet, truth: GroundTruth): Promise<void> {
  const { dataset } = set.spec;
  await pool.query(
    `INSERT INTO benchmark_ground_truth
       (cache_key, run_key, trace_count, generator_seed, query_seed, query_count, neighbours, reranked_neighbours, exact_p50_ms, plan_node, seconds)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (cache_key) DO UPDATE SET
       trace_count = EXCLUDED.trace_count, neighbours = EXCLUDED.neighbours, reranked_neighbours = EXCLUDED.reranked_neighbours,
       exact_p50_ms = EXCLUDED.exact_p50_ms, plan_node = EXCLUDED.plan_node, seconds = EXCLUDED.seconds, created_at = now()
     WHERE benchmark_ground_truth.reranked_neighbours IS NULL`,
    [truth.cacheKey, dataset.runKey, truth.traceCount, dataset.generatorSeed, set.spec.querySeed, set.spec.queryCount,
      JSON.stringify(truth.neighbours), JSON.stringify(truth.reranked), truth.exactP50Ms, truth.planNode, truth.seconds],
  );
}
