/**
 * SQL-level measurements of the search statement against the raw pgvector floor, on the same data in
 * the same run: a warm-up, serial latency and recall per ef_search, and a concurrency sweep.
 *
 * - The search statement is the search path's own (SEARCH_SQL, a named prepared statement on a
 *   connection with the search session settings), asked for the top k.
 * - The raw floor is `SELECT id FROM traces ORDER BY embedding <=> $1 LIMIT k` on a bare connection
 *   with only hnsw.ef_search set: what pgvector itself costs for the same k. On the halfvec index
 *   both order by the index expression (embedding::halfvec(1536) <=> …); the raw floor's ids are
 *   then that index's own order, so its recall@10 is the half-precision index's.
 * Serial passes interleave the two per query (alternating which goes first), so a noisy neighbour
 * on the host slows both alike and their ratio stays meaningful.
 */
import pg from 'pg';
import { annDistance, hnswIndexName, servingSessionOptions, type IndexType } from '../db/hnsw.js';
import { searchQuery, searchSql } from '../search/search.js';
import { explain } from './plan.js';
import { GROUND_TRUTH_K } from './ground-truth.js';
import type { QuerySet } from './query-set.js';
import {
  createLatencyHistogram, latencyCdf, recallAtK, recordMs, summarizeLatency, summarizeRecall,
  type CdfPoint, type LatencySummary, type RecallSummary,
} from './stats.js';
import { encodeHistogram, mergeHistograms, type EncodedHistogram } from './harness/histograms.js';
import { defineJob, type JobContext } from './harness/job.js';
import { harnessReport, unionSeconds, type HarnessReport } from './harness/judge.js';
import { harnessProcesses, spreadLanes } from './harness/lanes.js';
import { runInChildren } from './harness/run-child.js';
import { mergeWindows, WindowRecorder, type WindowSeries } from './harness/windows.js';
import { detectDrift, type Drift, type TimeWindow } from './time-series.js';

/** The raw pgvector floor on the index of `type`: nearest rows in that index's order, nothing else (no re-ranking). */
export function rawFloorSql(type: IndexType): string {
  return `SELECT id FROM traces ORDER BY ${annDistance(type, 'embedding', '$1')} LIMIT $2`;
}
export const RAW_FLOOR_SQL = rawFloorSql('vector');
const RAW_FLOOR_STATEMENTS: Record<IndexType, string> = { vector: 'commontrace_raw_floor_v1', halfvec: 'commontrace_raw_floor_halfvec_v1' };

export type SqlStatementKind = 'search' | 'raw';

export interface SqlRunOptions {
  databaseUrl: string;
  efSearch: number;
  /** Results per search (the API's default limit is 10). */
  k: number;
  /** The index both statements are written for (default vector, the migration's). */
  indexType?: IndexType;
  /** Queries done so far, out of `total` (null when the phase runs for a duration). */
  onProgress?: (done: number, total: number | null) => void;
  signal?: AbortSignal;
}

/** The exact answers a serial pass is judged against, per query, best first. */
export interface SerialTruth {
  /** Nearest ids by cosine similarity. */
  neighbours: readonly string[][];
  /** Best ids by the trust re-ranked score, over every row. */
  reranked: readonly string[][];
}

export interface SerialResult {
  efSearch: number;
  /** The search statement. */
  latency: LatencySummary;
  cdf: CdfPoint[];
  /** The raw floor statement, interleaved with the search statement query by query. */
  rawLatency: LatencySummary;
  /** recall@10 of the index itself: the raw floor's ids against the exact nearest neighbours. */
  recall: RecallSummary;
  /** The search statement's re-ranked top k against the exact re-ranked top k over all rows. */
  rerankRecall: RecallSummary;
  /** Share of searches whose first candidate fetch could not certify the re-ranking. */
  widenedShare: number;
  /** Share of searches whose re-ranking the bound could not certify even after widening. */
  uncertifiedShare: number;
}

export interface WarmupResult {
  queries: number;
  prewarmed: boolean;
  prewarmNote: string;
  /** EXPLAIN of the search statement at this ef_search: the benchmark says which path it timed. */
  plan: string;
  usesIndex: boolean;
  efSearch: number;
  latency: LatencySummary;
}

export interface ConcurrencyResult {
  statement: SqlStatementKind;
  clients: number;
  efSearch: number;
  seconds: number;
  queries: number;
  errors: number;
  errorRate: number;
  qps: number;
  latency: LatencySummary;
  /** The lanes' own processes: a saturated phase measured the harness, not the database. */
  harness: HarnessReport;
  /** Per time window of the run (time-series.ts): completions, errors, QPS and latency. */
  windows: TimeWindow[];
  /** Whether p99 rose across the windows (a growing queue). */
  drift: Drift;
}

const broken = new WeakSet<pg.Client>();

/** A dedicated connection for one statement kind at one ef_search. */
export async function connectBenchmarkClient(databaseUrl: string, role: string, kind: SqlStatementKind, efSearch: number): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    application_name: `benchmark:${role}`,
    // The search statement on a connection like the API's; the raw floor with nothing but ef_search.
    options: kind === 'search' ? servingSessionOptions(efSearch) : `-c hnsw.ef_search=${efSearch}`,
  });
  // Without a listener, a server-side disconnect would crash the whole worker process.
  client.on('error', () => broken.add(client));
  await client.connect();
  return client;
}

export const isBroken = (client: pg.Client): boolean => broken.has(client);

export interface TimedQuery {
  ms: number;
  ids: string[];
  widened: boolean;
  certified: boolean;
  /** The search statement took its exact route (selective tags); false for the raw floor. */
  exact: boolean;
}

/** One search through the search statement (with `tags`, filtered as the API filters); returns the elapsed milliseconds and the ids in result order. */
export async function timedSearch(
  client: pg.ClientBase, param: Buffer, modelId: string, efSearch: number, k: number, indexType: IndexType, tags: readonly string[] = [],
): Promise<TimedQuery> {
  const t0 = performance.now();
  const { rows } = await client.query<{ id: string; exact: boolean; widened: boolean; certified: boolean }>(searchQuery(param, { modelId, k, efSearch, indexType, tags }));
  const ms = performance.now() - t0;
  return { ms, ids: rows.map((r) => r.id), exact: rows[0]?.exact ?? false, widened: rows[0]?.widened ?? false, certified: rows[0]?.certified ?? true };
}

/** One raw floor query; relaxed orderings never apply here (no iterative scan), so ids are nearest first. */
export async function timedRaw(client: pg.ClientBase, param: Buffer, k: number, indexType: IndexType): Promise<TimedQuery> {
  const t0 = performance.now();
  const { rows } = await client.query<{ id: string }>({ name: RAW_FLOOR_STATEMENTS[indexType], text: rawFloorSql(indexType), values: [param, k] });
  return { ms: performance.now() - t0, ids: rows.map((r) => r.id), exact: false, widened: false, certified: true };
}

export function timedStatement(kind: SqlStatementKind, client: pg.ClientBase, set: QuerySet, q: number, options: Pick<SqlRunOptions, 'efSearch' | 'k' | 'indexType'>): Promise<TimedQuery> {
  const param = set.params[q % set.params.length]!;
  return kind === 'search'
    ? timedSearch(client, param, set.spec.modelId, options.efSearch, options.k, options.indexType ?? 'vector')
    : timedRaw(client, param, options.k, options.indexType ?? 'vector');
}

/** The plan of the search statement as the benchmark runs it (with `tags`, filtered), and whether it reads the HNSW index of its type. */
export async function explainSearch(
  client: pg.ClientBase, param: Buffer, modelId: string, efSearch: number, k: number, indexType: IndexType, tags: readonly string[] = [],
): Promise<{ plan: string; usesIndex: boolean }> {
  const { nodes, outline } = await explain(client, searchSql(indexType), searchQuery(param, { modelId, k, efSearch, indexType, tags }).values!);
  return { plan: outline, usesIndex: nodes.some((n) => n['Index Name'] === hnswIndexName(indexType)) };
}

/** Loads the index of `type` into shared_buffers when pg_prewarm is available; the report labels either way. */
export async function prewarmIndex(client: pg.ClientBase, type: IndexType): Promise<{ prewarmed: boolean; note: string }> {
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm');
    const { rows } = await client.query<{ blocks: string }>('SELECT pg_prewarm($1::regclass)::text AS blocks', [hnswIndexName(type)]);
    return { prewarmed: true, note: `pg_prewarm loaded ${rows[0]?.blocks ?? '?'} index blocks` };
  } catch (err) {
    return { prewarmed: false, note: `not prewarmed: ${(err as Error).message}` };
  }
}

/** Connections for an interleaved pass: the search statement's and the raw floor's. */
async function pairedClients(options: SqlRunOptions, role: string): Promise<{ search: pg.Client; raw: pg.Client; close: () => Promise<void> }> {
  const search = await connectBenchmarkClient(options.databaseUrl, `${role}:search`, 'search', options.efSearch);
  const raw = await connectBenchmarkClient(options.databaseUrl, `${role}:raw`, 'raw', options.efSearch).catch(async (err: unknown) => {
    await search.end().catch(() => undefined);
    throw err;
  });
  return { search, raw, close: async () => void (await Promise.all([search.end(), raw.end()].map((p) => p.catch(() => undefined)))) };
}

interface PassObserver {
  (q: number, search: TimedQuery, raw: TimedQuery): void;
}

/** Every query of the set once through both statements, alternating which runs first. */
async function interleavedPass(clients: { search: pg.Client; raw: pg.Client }, set: QuerySet, count: number, options: SqlRunOptions, observe: PassObserver) {
  for (let q = 0; q < count; q++) {
    options.signal?.throwIfAborted();
    const runSearch = () => timedStatement('search', clients.search, set, q, options);
    const runRaw = () => timedStatement('raw', clients.raw, set, q, options);
    let search: TimedQuery;
    let raw: TimedQuery;
    if (q % 2 === 0) {
      search = await runSearch();
      raw = await runRaw();
    } else {
      raw = await runRaw();
      search = await runSearch();
    }
    observe(q, search, raw);
    options.onProgress?.(q + 1, count);
  }
}

/** A first pass whose latencies are reported separately (cold unless prewarmed), never mixed in. */
export async function warmUp(set: QuerySet, queries: number, prewarm: boolean, options: SqlRunOptions): Promise<WarmupResult> {
  const clients = await pairedClients(options, 'warmup');
  try {
    const indexType = options.indexType ?? 'vector';
    const warmed = prewarm ? await prewarmIndex(clients.search, indexType) : { prewarmed: false, note: 'prewarm not requested' };
    const plan = await explainSearch(clients.search, set.params[0]!, set.spec.modelId, options.efSearch, options.k, indexType);
    const histogram = createLatencyHistogram();
    await interleavedPass(clients, set, queries, options, (_q, search) => recordMs(histogram, search.ms));
    return { queries, prewarmed: warmed.prewarmed, prewarmNote: warmed.note, ...plan, efSearch: options.efSearch, latency: summarizeLatency(histogram) };
  } finally {
    await clients.close();
  }
}

/**
 * Every query once through both statements, one at a time: the latency of each, recall@10 of the
 * index (raw floor ids against the exact neighbours) and the re-rank recall of the search path.
 */
export async function measureSerial(set: QuerySet, truth: SerialTruth, options: SqlRunOptions): Promise<SerialResult> {
  const clients = await pairedClients(options, `serial:ef${options.efSearch}`);
  try {
    const searchHistogram = createLatencyHistogram();
    const rawHistogram = createLatencyHistogram();
    const recalls: number[] = [];
    const rerankRecalls: number[] = [];
    let widened = 0;
    let uncertified = 0;
    await interleavedPass(clients, set, set.params.length, options, (q, search, raw) => {
      recordMs(searchHistogram, search.ms);
      recordMs(rawHistogram, raw.ms);
      recalls.push(recallAtK(raw.ids, truth.neighbours[q]!, Math.min(options.k, GROUND_TRUTH_K)));
      rerankRecalls.push(recallAtK(search.ids, truth.reranked[q]!, Math.min(options.k, GROUND_TRUTH_K)));
      if (search.widened) widened++;
      if (!search.certified) uncertified++;
    });
    const n = Math.max(1, set.params.length);
    return {
      efSearch: options.efSearch,
      latency: summarizeLatency(searchHistogram),
      cdf: latencyCdf(searchHistogram),
      rawLatency: summarizeLatency(rawHistogram),
      recall: summarizeRecall(recalls),
      rerankRecall: summarizeRecall(rerankRecalls),
      widenedShare: widened / n,
      uncertifiedShare: uncertified / n,
    };
  } finally {
    await clients.close();
  }
}

export interface FilteredPassResult {
  tag: string;
  efSearch: number;
  /** EXPLAIN of the filtered search statement, and whether it reads the HNSW index. */
  plan: string;
  usesIndex: boolean;
  latency: LatencySummary;
  /** The search statement's top k for the tag against the exact re-ranked top k among the tag's rows. */
  recall: RecallSummary;
  /** Share of searches that returned fewer than k rows (the iterative scan gave up, or the tag has fewer rows). */
  shortShare: number;
  /** Share of searches that took the exact route (the tag is on at most EXACT_FILTER_MAX_ROWS rows). */
  exactShare: number;
  widenedShare: number;
  uncertifiedShare: number;
}

/**
 * Every query once, one at a time, through the search statement filtered by `tag` on a connection
 * with the production session settings (servingSessionOptions: ef_search, iterative scan), i.e.
 * what the API runs for a search with `tags: [tag]`; `reranked` is the exact filtered answer per query.
 */
export async function measureFiltered(set: QuerySet, reranked: readonly string[][], tag: string, options: SqlRunOptions): Promise<FilteredPassResult> {
  const client = await connectBenchmarkClient(options.databaseUrl, `filtered:${tag}:ef${options.efSearch}`, 'search', options.efSearch);
  try {
    const plan = await explainSearch(client, set.params[0]!, set.spec.modelId, options.efSearch, options.k, options.indexType ?? 'vector', [tag]);
    const histogram = createLatencyHistogram();
    const recalls: number[] = [];
    let short = 0;
    let exact = 0;
    let widened = 0;
    let uncertified = 0;
    const count = set.params.length;
    for (let q = 0; q < count; q++) {
      options.signal?.throwIfAborted();
      const r = await timedSearch(client, set.params[q]!, set.spec.modelId, options.efSearch, options.k, options.indexType ?? 'vector', [tag]);
      recordMs(histogram, r.ms);
      recalls.push(recallAtK(r.ids, reranked[q]!, Math.min(options.k, GROUND_TRUTH_K)));
      if (r.ids.length < options.k) short++;
      if (r.exact) exact++;
      if (r.widened) widened++;
      if (!r.certified) uncertified++;
      options.onProgress?.(q + 1, count);
    }
    const n = Math.max(1, count);
    return {
      tag, efSearch: options.efSearch, ...plan, latency: summarizeLatency(histogram), recall: summarizeRecall(recalls),
      shortShare: short / n, exactShare: exact / n, widenedShare: widened / n, uncertifiedShare: uncertified / n,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** What one harness child needs to run its share of a concurrency phase's lanes. */
export interface ConcurrencyLanesInput {
  databaseUrl: string;
  kind: SqlStatementKind;
  efSearch: number;
  k: number;
  indexType?: IndexType;
  /** Lanes in the whole phase (lane i sends queries i, i + clients, …). */
  clients: number;
  /** This child's lanes. */
  lanes: number[];
  seconds: number;
  /** The query set's parameters and model: all timedStatement reads of a QuerySet. */
  params: Buffer[];
  modelId: string;
}

export interface ConcurrencyLanesOutput {
  ok: number;
  errors: number;
  latency: EncodedHistogram;
  windows: WindowSeries;
}

/**
 * A child's lanes, each on its own connection, back to back for `seconds` from go. Failed queries are
 * counted as errors and kept out of the latency histogram.
 */
export const concurrencyLanesJob = defineJob(import.meta.url, 'concurrencyLanesJob', {
  async prepare(input: ConcurrencyLanesInput) {
    const connected = await Promise.allSettled(
      input.lanes.map((lane) => connectBenchmarkClient(input.databaseUrl, `concurrency:${input.kind}:${input.clients}:${lane}`, input.kind, input.efSearch)),
    );
    const connections = connected.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []));
    const failed = connected.find((c) => c.status === 'rejected');
    if (failed) {
      await Promise.all(connections.map((c) => c.end().catch(() => undefined)));
      throw failed.reason;
    }
    return { input, connections };
  },
  async run({ input, connections }, ctx: JobContext<number>): Promise<ConcurrencyLanesOutput> {
    const set = { params: input.params, spec: { modelId: input.modelId } } as QuerySet;
    const histogram = createLatencyHistogram();
    const windows = new WindowRecorder(ctx.startedAt, input.seconds);
    let ok = 0;
    let errors = 0;
    const deadline = performance.now() + input.seconds * 1000;
    const lane = async (client: pg.Client, laneIndex: number) => {
      for (let q = laneIndex; performance.now() < deadline; q += input.clients) {
        try {
          const { ms } = await timedStatement(input.kind, client, set, q, input);
          recordMs(histogram, ms);
          windows.success(ms);
          ok++;
        } catch {
          errors++;
          windows.error();
          // A broken connection would fail every later query instantly and inflate the error count.
          if (isBroken(client)) break;
        }
        ctx.progress(ok + errors);
      }
    };
    await Promise.all(connections.map((client, i) => lane(client, input.lanes[i]!)));
    return { ok, errors, latency: encodeHistogram(histogram), windows: windows.snapshot() };
  },
  async close({ connections }) {
    await Promise.all(connections.map((c) => c.end().catch(() => undefined)));
  },
});

const CONCURRENCY_PROGRESS_MS = 1_000;

/**
 * `clients` connections issue one statement kind back to back for `seconds`, cycling through the
 * query set. Failed queries are counted as errors and kept out of the latency histogram. Both are
 * also kept per time window of the run (completion time), and the phase is judged for p99 drift.
 * The lanes run in harness child processes, never on this process's event loop (a Temporal
 * worker's): spread over at most one process per core (harness/lanes.ts says why), all starting
 * together once every connection is open. Aborting `options.signal` kills them.
 */
export async function measureConcurrency(
  set: QuerySet, kind: SqlStatementKind, clients: number, seconds: number, options: SqlRunOptions & { processes?: number },
): Promise<ConcurrencyResult> {
  const inputs: ConcurrencyLanesInput[] = spreadLanes(clients, harnessProcesses(clients, options.processes)).map((lanes) => ({
    databaseUrl: options.databaseUrl, kind, efSearch: options.efSearch, k: options.k, indexType: options.indexType, clients, lanes, seconds, params: set.params, modelId: set.spec.modelId,
  }));
  const done = inputs.map(() => 0);
  const total = () => done.reduce((a, b) => a + b, 0);
  const ticker = setInterval(() => options.onProgress?.(total(), null), CONCURRENCY_PROGRESS_MS);
  let runs;
  try {
    runs = await runInChildren(concurrencyLanesJob, inputs, {
      label: `sql-concurrency:${kind}:${clients}`,
      signal: options.signal,
      onProgress: (child, n) => void (done[child] = n),
    });
  } finally {
    clearInterval(ticker);
  }
  const ok = runs.reduce((n, r) => n + r.result.ok, 0);
  const errors = runs.reduce((n, r) => n + r.result.errors, 0);
  options.onProgress?.(ok + errors, null);
  const loads = runs.map((r) => r.load);
  const elapsed = unionSeconds(loads);
  const windows = mergeWindows(runs.map((r) => r.result.windows));
  return {
    statement: kind,
    clients,
    efSearch: options.efSearch,
    seconds: Math.round(elapsed * 100) / 100,
    queries: ok,
    errors,
    errorRate: ok + errors === 0 ? 0 : errors / (ok + errors),
    qps: elapsed > 0 ? Math.round((ok / elapsed) * 10) / 10 : 0,
    latency: summarizeLatency(mergeHistograms(runs.map((r) => r.result.latency))),
    harness: harnessReport(loads),
    windows,
    drift: detectDrift(windows),
  };
}
