/**
 * SQL-level measurements of the search statement: a warm-up pass, serial latency and recall per
 * ef_search, and a concurrency sweep. Each query is timed as the search path runs it — BEGIN,
 * SET LOCAL hnsw.ef_search, the ANN statement, COMMIT — on dedicated connections, so the worker's
 * own pool never queues a measured query.
 */
import pg from 'pg';
import { HNSW_INDEX_NAME } from '../db/hnsw.js';
import { ANN_SETTINGS_SQL, ANN_SQL, annCandidates } from '../search/search.js';
import { explain } from './plan.js';
import { GROUND_TRUTH_K } from './ground-truth.js';
import type { QuerySet } from './query-set.js';
import {
  createLatencyHistogram, latencyCdf, recallAtK, recordMs, summarizeLatency, summarizeRecall,
  type CdfPoint, type LatencySummary, type RecallSummary,
} from './stats.js';

export interface SqlRunOptions {
  databaseUrl: string;
  efSearch: number;
  /** Rows the statement asks for (the search path asks for ANN_CANDIDATES and re-ranks them). */
  limit: number;
  /** Queries done so far, out of `total` (null when the phase runs for a duration). */
  onProgress?: (done: number, total: number | null) => void;
  signal?: AbortSignal;
}

export interface SerialResult {
  efSearch: number;
  latency: LatencySummary;
  cdf: CdfPoint[];
  recall: RecallSummary;
}

export interface WarmupResult {
  queries: number;
  prewarmed: boolean;
  prewarmNote: string;
  /** EXPLAIN of the measured statement at this ef_search: the benchmark says which path it timed. */
  plan: string;
  usesIndex: boolean;
  efSearch: number;
  latency: LatencySummary;
}

export interface ConcurrencyResult {
  clients: number;
  efSearch: number;
  seconds: number;
  queries: number;
  errors: number;
  errorRate: number;
  qps: number;
  latency: LatencySummary;
}

const broken = new WeakSet<pg.Client>();

export async function connectBenchmarkClient(databaseUrl: string, role: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: `benchmark:${role}` });
  // Without a listener, a server-side disconnect would crash the whole worker process.
  client.on('error', () => broken.add(client));
  await client.connect();
  return client;
}

/** One search as the search path runs it; returns the elapsed milliseconds and the ids nearest first. */
export async function timedSearch(client: pg.ClientBase, literal: string, modelId: string, efSearch: number, limit: number): Promise<{ ms: number; ids: string[] }> {
  const t0 = performance.now();
  await client.query('BEGIN');
  try {
    const rows = await annCandidates(client, literal, modelId, { efSearch, limit });
    await client.query('COMMIT');
    const ms = performance.now() - t0;
    // relaxed_order iterative scans may return rows slightly out of distance order.
    const ids = rows.sort((a, b) => b.similarity - a.similarity).map((r) => r.id);
    return { ms, ids };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function serialPass(
  client: pg.ClientBase,
  set: QuerySet,
  count: number,
  options: SqlRunOptions,
  onResult?: (q: number, ids: string[]) => void,
) {
  const histogram = createLatencyHistogram();
  for (let q = 0; q < count; q++) {
    options.signal?.throwIfAborted();
    const { ms, ids } = await timedSearch(client, set.literals[q % set.literals.length]!, set.spec.modelId, options.efSearch, options.limit);
    recordMs(histogram, ms);
    onResult?.(q, ids);
    options.onProgress?.(q + 1, count);
  }
  return histogram;
}

/** The plan of the search statement as the benchmark runs it, and whether it reads the HNSW index. */
export async function explainSearch(client: pg.ClientBase, literal: string, modelId: string, efSearch: number, limit: number): Promise<{ plan: string; usesIndex: boolean }> {
  await client.query('BEGIN');
  try {
    await client.query(ANN_SETTINGS_SQL, [String(efSearch)]);
    const { nodes, outline } = await explain(client, ANN_SQL, [literal, modelId, [], limit]);
    return { plan: outline, usesIndex: nodes.some((n) => n['Index Name'] === HNSW_INDEX_NAME) };
  } finally {
    await client.query('ROLLBACK');
  }
}

/** Loads the index into shared_buffers when pg_prewarm is available; the report labels either way. */
export async function prewarmIndex(client: pg.ClientBase): Promise<{ prewarmed: boolean; note: string }> {
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm');
    const { rows } = await client.query<{ blocks: string }>('SELECT pg_prewarm($1::regclass)::text AS blocks', [HNSW_INDEX_NAME]);
    return { prewarmed: true, note: `pg_prewarm loaded ${rows[0]?.blocks ?? '?'} index blocks` };
  } catch (err) {
    return { prewarmed: false, note: `not prewarmed: ${(err as Error).message}` };
  }
}

/** A first pass whose latencies are reported separately (cold unless prewarmed), never mixed in. */
export async function warmUp(set: QuerySet, queries: number, prewarm: boolean, options: SqlRunOptions): Promise<WarmupResult> {
  const client = await connectBenchmarkClient(options.databaseUrl, 'warmup');
  try {
    const warmed = prewarm ? await prewarmIndex(client) : { prewarmed: false, note: 'prewarm not requested' };
    const plan = await explainSearch(client, set.literals[0]!, set.spec.modelId, options.efSearch, options.limit);
    const histogram = await serialPass(client, set, queries, options);
    return { queries, prewarmed: warmed.prewarmed, prewarmNote: warmed.note, ...plan, efSearch: options.efSearch, latency: summarizeLatency(histogram) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Every query once, one at a time: latency per query and recall@10 against the exact neighbours. */
export async function measureSerial(set: QuerySet, truth: readonly string[][], options: SqlRunOptions): Promise<SerialResult> {
  const client = await connectBenchmarkClient(options.databaseUrl, `serial:ef${options.efSearch}`);
  try {
    const recalls: number[] = [];
    const histogram = await serialPass(client, set, set.literals.length, options, (q, ids) => recalls.push(recallAtK(ids, truth[q]!, GROUND_TRUTH_K)));
    return { efSearch: options.efSearch, latency: summarizeLatency(histogram), cdf: latencyCdf(histogram), recall: summarizeRecall(recalls) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * `clients` connections issue queries back to back for `seconds`, cycling through the query set.
 * Failed queries are counted as errors and kept out of the latency histogram.
 */
export async function measureConcurrency(set: QuerySet, clients: number, seconds: number, options: SqlRunOptions): Promise<ConcurrencyResult> {
  const connections = await Promise.all(Array.from({ length: clients }, (_, i) => connectBenchmarkClient(options.databaseUrl, `concurrency:${clients}:${i}`)));
  const histogram = createLatencyHistogram();
  let next = 0;
  let ok = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const lane = async (client: pg.Client) => {
    while (performance.now() < deadline) {
      options.signal?.throwIfAborted();
      const q = next++ % set.literals.length;
      try {
        const { ms } = await timedSearch(client, set.literals[q]!, set.spec.modelId, options.efSearch, options.limit);
        recordMs(histogram, ms);
        ok++;
      } catch {
        errors++;
        // A broken connection would fail every later query instantly and inflate the error count.
        if (broken.has(client)) break;
      }
      options.onProgress?.(ok + errors, null);
    }
  };
  try {
    await Promise.all(connections.map(lane));
  } finally {
    await Promise.all(connections.map((c) => c.end().catch(() => undefined)));
  }
  const elapsed = (performance.now() - started) / 1000;
  return {
    clients,
    efSearch: options.efSearch,
    seconds: Math.round(elapsed * 100) / 100,
    queries: ok,
    errors,
    errorRate: ok + errors === 0 ? 0 : errors / (ok + errors),
    qps: Math.round((ok / elapsed) * 10) / 10,
    latency: summarizeLatency(histogram),
  };
}
