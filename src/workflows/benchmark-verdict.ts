/**
 * Thresholds and the pass/fail verdict of a search benchmark, and the raw-floor comparison it judges.
 * Pure and deterministic: the workflow judges its own figures with it, and tests judge constructed ones.
 */
export interface BenchmarkThresholds {
  /** Serial SQL p99 of the search statement at the production ef_search must be below this. */
  sqlP99Ms: number;
  /** recall@10 mean of the index at the production ef_search must reach this. */
  recallMean: number;
  /** Re-ranked top k against the exact re-ranked top k over all rows, mean, at least this. */
  rerankRecallMean: number;
  /** HTTP p99 of 2xx responses must be below this. */
  httpP99Ms: number;
  /** Failed SQL queries plus non-2xx and failed HTTP requests, over all requests, at most this. */
  errorRate: number;
  /** Serial p99 of the search statement over the raw floor's, interleaved in the same pass: at most this. */
  maxSerialP99Ratio: number;
  /** Search statement QPS over raw floor QPS at 2 clients: at least this. */
  minQpsRatio: number;
  /** The API's closed-loop QPS at 2 connections over the raw floor's QPS at 2 clients: at least this. */
  minApiCeilingRatio: number;
  /** Filtered search (each tag selectivity, iterative scan on): recall@10 mean against the exact filtered top k, at least this. */
  filteredRecallMean: number;
}

export const DEFAULT_THRESHOLDS: BenchmarkThresholds = {
  sqlP99Ms: 50,
  recallMean: 0.95,
  rerankRecallMean: 0.99,
  httpP99Ms: 50,
  errorRate: 0,
  maxSerialP99Ratio: 1.3,
  minQpsRatio: 0.8,
  minApiCeilingRatio: 0.5,
  filteredRecallMean: 0.9,
};

/** Clients at which throughput is compared with the raw floor. */
export const THROUGHPUT_CLIENTS = 2;

export type CheckStatus = 'pass' | 'fail' | 'skipped';

export interface BenchmarkCheck {
  name: string;
  value: number | null;
  comparator: '<' | '<=' | '>=';
  threshold: number;
  status: CheckStatus;
  detail: string;
}

interface HarnessFigures {
  harness?: { saturated: boolean; reason: string | null } | null;
}

interface SerialFigures {
  efSearch: number;
  latency: { p50: number; p99: number };
  rawLatency: { p50: number; p99: number };
  recall: { mean: number; zeroShare: number };
  rerankRecall: { mean: number; zeroShare: number };
  uncertifiedShare: number;
}

export interface ConcurrencyFigures extends HarnessFigures {
  statement: 'search' | 'raw';
  clients: number;
  queries: number;
  errors: number;
  qps: number;
}

interface HttpFigures extends HarnessFigures {
  requests: number;
  non2xx: number;
  errors: number;
  qps: number;
  latency: { p99: number; count: number };
}

/** The filtered phase: per tag, its measured share of the searchable rows and its pass (null: not measured). */
export interface FilteredFigures {
  selectivities: readonly { tag: string; share: number; pass: { recall: { mean: number } } | null }[];
}

/** One round of the throughput comparison: both statements at the same client count, back to back. */
export interface ThroughputRound {
  clients: number;
  round: number;
  searchFirst: boolean;
  search: ConcurrencyFigures;
  raw: ConcurrencyFigures;
}

/** The service against the raw pgvector floor measured in the same run on the same data. */
export interface RawFloorSummary {
  statement: string;
  efSearch: number;
  k: number;
  /** Serial pass at the production ef_search, the two statements interleaved query by query. */
  searchP50Ms: number | null;
  searchP99Ms: number | null;
  rawP50Ms: number | null;
  rawP99Ms: number | null;
  serialP99Ratio: number | null;
  /** Per client count: median QPS of each statement over the rounds, and the median per-round ratio. */
  qps: { clients: number; rounds: number; search: number; raw: number; ratio: number | null }[];
  qpsRatio: number | null;
  apiCeilingQps: number | null;
  apiCeilingRatio: number | null;
}

export const RAW_FLOOR_STATEMENT_TEXT = 'SELECT id FROM traces ORDER BY embedding <=> $1 LIMIT k (bare connection, hnsw.ef_search only)';

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b <= 0 ? null : Math.round((a / b) * 1000) / 1000;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarizeRawFloor(f: {
  productionEfSearch: number;
  k: number;
  serial: readonly SerialFigures[];
  throughputRounds: readonly ThroughputRound[];
  httpCeiling: { qps: number } | null;
}): RawFloorSummary {
  const prod = f.serial.find((s) => s.efSearch === f.productionEfSearch);
  const clients = [...new Set(f.throughputRounds.map((r) => r.clients))].sort((a, b) => a - b);
  const qps = clients.map((c) => {
    const rounds = f.throughputRounds.filter((r) => r.clients === c);
    const ratios = rounds.map((r) => ratio(r.search.qps, r.raw.qps)).filter((x): x is number => x !== null);
    return {
      clients: c,
      rounds: rounds.length,
      search: median(rounds.map((r) => r.search.qps)),
      raw: median(rounds.map((r) => r.raw.qps)),
      ratio: ratios.length === 0 ? null : Math.round(median(ratios) * 1000) / 1000,
    };
  });
  const atThroughput = qps.find((q) => q.clients === THROUGHPUT_CLIENTS);
  return {
    statement: RAW_FLOOR_STATEMENT_TEXT,
    efSearch: f.productionEfSearch,
    k: f.k,
    searchP50Ms: prod?.latency.p50 ?? null,
    searchP99Ms: prod?.latency.p99 ?? null,
    rawP50Ms: prod?.rawLatency.p50 ?? null,
    rawP99Ms: prod?.rawLatency.p99 ?? null,
    serialP99Ratio: ratio(prod?.latency.p99, prod?.rawLatency.p99),
    qps,
    qpsRatio: atThroughput?.ratio ?? null,
    apiCeilingQps: f.httpCeiling?.qps ?? null,
    apiCeilingRatio: ratio(f.httpCeiling?.qps, atThroughput?.raw),
  };
}

export interface VerdictFigures {
  productionEfSearch: number;
  serial: readonly SerialFigures[];
  concurrency: readonly ConcurrencyFigures[];
  throughputRounds: readonly ThroughputRound[];
  http: HttpFigures | null;
  httpCeiling: HttpFigures | null;
  rawFloor: RawFloorSummary;
  /** Null or absent: the filtered phase did not run. */
  filtered?: FilteredFigures | null;
}

function check(name: string, value: number | null, comparator: BenchmarkCheck['comparator'], threshold: number, detail: string): BenchmarkCheck {
  if (value === null) return { name, value, comparator, threshold, status: 'skipped', detail };
  const ok = comparator === '<' ? value < threshold : comparator === '<=' ? value <= threshold : value >= threshold;
  return { name, value, comparator, threshold, status: ok ? 'pass' : 'fail', detail };
}

/**
 * Phases the verdict judges whose load generator saturated: their figures are the harness's, not the
 * service's. The concurrency sweep and the 1-client rounds feed no check; the report marks them
 * INVALID when their generator saturated, which on 2 cores is common once the database takes both.
 */
export function invalidPhases(f: Pick<VerdictFigures, 'throughputRounds' | 'http' | 'httpCeiling'>): string[] {
  const phases: [string, HarnessFigures | null][] = [
    ...f.throughputRounds
      .filter((r) => r.clients === THROUGHPUT_CLIENTS)
      .flatMap((r): [string, HarnessFigures][] => [
        [`search statement at ${r.clients} clients, round ${r.round}`, r.search],
        [`raw floor at ${r.clients} clients, round ${r.round}`, r.raw],
      ]),
    ['HTTP load', f.http],
    ['HTTP ceiling', f.httpCeiling],
  ];
  return phases.filter(([, p]) => p?.harness?.saturated).map(([name, p]) => `${name} (${p!.harness!.reason ?? 'saturated'})`);
}

/**
 * Filtered recall: the lowest recall@10 mean over the tag selectivities, so the rarest tag (where
 * filtered HNSW recall collapses first) decides. A selectivity that was not measured fails it.
 */
function filteredCheck(t: BenchmarkThresholds, f: FilteredFigures | null, ef: number): BenchmarkCheck {
  const name = 'filtered recall@10 mean (lowest selectivity)';
  if (!f) return check(name, null, '>=', t.filteredRecallMean, 'filtered phase not run');
  const perTag = f.selectivities.map((s) => `${s.tag} (${(s.share * 100).toFixed(2)}% of rows): ${s.pass ? s.pass.recall.mean.toFixed(3) : 'not measured'}`);
  const detail = `${perTag.join('; ')}; search statement, ef_search ${ef}, iterative scan, against the exact filtered top k`;
  const measured = f.selectivities.map((s) => s.pass?.recall.mean ?? null);
  if (measured.length === 0 || measured.some((m) => m === null)) return { ...check(name, null, '>=', t.filteredRecallMean, detail), status: 'fail' };
  return check(name, Math.min(...(measured as number[])), '>=', t.filteredRecallMean, detail);
}

export function judgeBenchmark(t: BenchmarkThresholds, f: VerdictFigures): { verdict: 'pass' | 'fail'; checks: BenchmarkCheck[] } {
  const ef = f.productionEfSearch;
  const prod = f.serial.find((s) => s.efSearch === ef);
  const sqlPhases = [...f.concurrency, ...f.throughputRounds.flatMap((r) => [r.search, r.raw])];
  const sqlQueries = sqlPhases.reduce((n, c) => n + c.queries + c.errors, 0);
  const sqlErrors = sqlPhases.reduce((n, c) => n + c.errors, 0);
  const httpRuns = [f.http, f.httpCeiling].filter((h): h is HttpFigures => h !== null);
  const httpFailed = httpRuns.reduce((n, h) => n + h.non2xx + h.errors, 0);
  const total = sqlQueries + httpRuns.reduce((n, h) => n + h.requests, 0);
  const notMeasured = `ef_search ${ef} was not measured`;
  const invalid = invalidPhases(f);
  const r = f.rawFloor;
  const checks = [
    check(`SQL p99 (ms) at ef_search=${ef}`, prod?.latency.p99 ?? null, '<', t.sqlP99Ms, prod ? 'search statement, serial, warm' : notMeasured),
    check(`recall@10 mean at ef_search=${ef}`, prod?.recall.mean ?? null, '>=', t.recallMean,
      prod ? `index alone (raw floor ids); ${(prod.recall.zeroShare * 100).toFixed(1)}% of queries at recall 0` : notMeasured),
    check('re-rank recall mean', prod?.rerankRecall.mean ?? null, '>=', t.rerankRecallMean,
      prod ? `search statement vs exact re-ranked top k over all rows; bound not certified on ${(prod.uncertifiedShare * 100).toFixed(1)}% of searches` : notMeasured),
    check('HTTP p99 (ms)', f.http && f.http.latency.count > 0 ? f.http.latency.p99 : null, '<', t.httpP99Ms,
      f.http ? (f.http.latency.count > 0 ? '2xx responses only' : 'no 2xx response to measure') : 'HTTP phase skipped'),
    check('error rate', total === 0 ? null : (sqlErrors + httpFailed) / total, '<=', t.errorRate,
      `${sqlErrors} SQL errors, ${httpRuns.length > 0 ? `${httpFailed} non-2xx or failed HTTP requests` : 'no HTTP phase'}, of ${total}`),
    check('search / raw serial p99 ratio', r.serialP99Ratio, '<=', t.maxSerialP99Ratio,
      r.serialP99Ratio === null ? notMeasured : `${r.searchP99Ms} / ${r.rawP99Ms} ms, interleaved in one pass`),
    check(`search / raw QPS at ${THROUGHPUT_CLIENTS} clients`, r.qpsRatio, '>=', t.minQpsRatio,
      r.qpsRatio === null ? `search or raw floor not measured at ${THROUGHPUT_CLIENTS} clients` : 'median of alternating rounds, same data, same run'),
    check(`API ceiling / raw QPS at ${THROUGHPUT_CLIENTS}`, r.apiCeilingRatio, '>=', t.minApiCeilingRatio,
      r.apiCeilingRatio === null ? 'HTTP ceiling phase or raw floor rounds not run' : `closed loop on ${THROUGHPUT_CLIENTS} connections: ${r.apiCeilingQps} QPS`),
    filteredCheck(t, f.filtered ?? null, ef),
    check('saturated harness phases', invalid.length, '<=', 0,
      invalid.length === 0 ? `the judged phases' load generators kept up (2-client levels, HTTP)` : `invalid: ${invalid.join('; ')}`),
  ];
  // Missing figures that the verdict depends on are failures, not skips.
  if (!prod) checks[0]!.status = checks[1]!.status = checks[2]!.status = 'fail';
  if (f.http && f.http.latency.count === 0) checks[3]!.status = 'fail';
  return { verdict: checks.some((c) => c.status === 'fail') ? 'fail' : 'pass', checks };
}
