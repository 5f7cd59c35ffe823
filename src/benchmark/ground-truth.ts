/**
 * Exact top-k neighbours for the benchmark queries, from the database itself: the search path's own
 * statement with every index access path switched off (SET LOCAL inside a transaction), checked once
 * with EXPLAIN to be a sequential scan. Cached per dataset in benchmark_ground_truth, because an exact
 * scan of 100K × 1536 vectors costs about half a second a query.
 */
import pg from 'pg';
import { ANN_SQL } from '../search/search.js';
import { explain } from './plan.js';
import { createLatencyHistogram, recordMs, summarizeLatency } from './stats.js';
import type { QuerySet } from './query-set.js';

export const GROUND_TRUTH_K = 10;

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
  planNode: string;
  exactP50Ms: number | null;
  seconds: number;
}

/** The searchable set: the rows the search statement can return for this model. */
export async function searchableCount(pool: pg.Pool, modelId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM traces WHERE embedding IS NOT NULL AND embedding_model_id = $1 AND NOT is_flagged AND status <> 'rejected'`,
    [modelId],
  );
  return rows[0]!.n;
}

/** EXPLAINs the exact statement under the same settings; throws unless traces is read by a seq scan. */
export async function verifySequentialScan(client: pg.ClientBase, literal: string, modelId: string): Promise<string> {
  await client.query(EXACT_SETTINGS_SQL);
  const { nodes, outline } = await explain(client, ANN_SQL, [literal, modelId, [], GROUND_TRUTH_K]);
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

export async function loadGroundTruth(pool: pg.Pool, cacheKey: string): Promise<Omit<GroundTruth, 'cached'> | null> {
  const { rows } = await pool.query<{ trace_count: number; neighbours: string[][]; plan_node: string; exact_p50_ms: number | null; seconds: number }>(
    'SELECT trace_count, neighbours, plan_node, exact_p50_ms, seconds FROM benchmark_ground_truth WHERE cache_key = $1',
    [cacheKey],
  );
  const r = rows[0];
  if (!r) return null;
  return { cacheKey, traceCount: r.trace_count, neighbours: r.neighbours, planNode: r.plan_node, exactP50Ms: r.exact_p50_ms, seconds: r.seconds };
}

export interface ComputeOptions {
  databaseUrl: string;
  cacheKey: string;
  traceCount: number;
  /** Parallel exact scans; each is a full table scan, so keep this at the core count or below. */
  lanes: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Computes exact neighbours for every query and stores them under `cacheKey` (first writer wins). */
export async function computeGroundTruth(pool: pg.Pool, set: QuerySet, options: ComputeOptions): Promise<GroundTruth> {
  const started = performance.now();
  const modelId = set.spec.modelId;
  const neighbours: string[][] = new Array(set.literals.length);
  const histogram = createLatencyHistogram();
  let next = 0;
  let done = 0;
  let nearest = Number.POSITIVE_INFINITY;
  const connect = async (name: string) => {
    const client = new pg.Client({ connectionString: options.databaseUrl, application_name: `benchmark:ground-truth:${name}` });
    await client.connect();
    return client;
  };
  const explainClient = await connect('explain');
  let planNode: string;
  try {
    await explainClient.query('BEGIN');
    planNode = await verifySequentialScan(explainClient, set.literals[0]!, modelId);
    await explainClient.query('COMMIT');
  } finally {
    await explainClient.end().catch(() => undefined);
  }
  const lane = async (laneIndex: number) => {
    const client = await connect(String(laneIndex));
    try {
      while (next < set.literals.length) {
        options.signal?.throwIfAborted();
        const q = next++;
        const t0 = performance.now();
        await client.query('BEGIN');
        await client.query(EXACT_SETTINGS_SQL);
        const { rows } = await client.query<{ id: string; similarity: number }>(ANN_SQL, [set.literals[q]!, modelId, [], GROUND_TRUTH_K]);
        await client.query('COMMIT');
        recordMs(histogram, performance.now() - t0);
        neighbours[q] = rows.map((r) => r.id);
        if (rows[0]) nearest = Math.min(nearest, 1 - rows[0].similarity);
        options.onProgress?.(++done, set.literals.length);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.lanes, set.literals.length)) }, (_, i) => lane(i)));
  if (nearest < 1e-5) {
    throw new GroundTruthError('a benchmark query coincides with a table row (distance 0): the query set must be held out; use another querySeed');
  }
  const truth: GroundTruth = {
    cacheKey: options.cacheKey,
    cached: false,
    traceCount: options.traceCount,
    neighbours,
    planNode,
    exactP50Ms: summarizeLatency(histogram).p50,
    seconds: Math.round((performance.now() - started) / 10) / 100,
  };
  const { dataset } = set.spec;
  await pool.query(
    `INSERT INTO benchmark_ground_truth (cache_key, run_key, trace_count, generator_seed, query_seed, query_count, neighbours, exact_p50_ms, plan_node, seconds)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (cache_key) DO NOTHING`,
    [truth.cacheKey, dataset.runKey, truth.traceCount, dataset.generatorSeed, set.spec.querySeed, set.spec.queryCount,
      JSON.stringify(neighbours), truth.exactP50Ms, planNode, truth.seconds],
  );
  return truth;
}
