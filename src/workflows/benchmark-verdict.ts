/**
 * Thresholds and the pass/fail verdict of a search benchmark. Pure and deterministic: the workflow
 * judges its own figures with it, and tests judge constructed ones.
 */
export interface BenchmarkThresholds {
  /** Serial SQL p99 at the production ef_search must be below this. */
  sqlP99Ms: number;
  /** recall@10 mean at the production ef_search must reach this. */
  recallMean: number;
  /** HTTP p99 of 2xx responses must be below this. */
  httpP99Ms: number;
  /** Failed SQL queries plus non-2xx and failed HTTP requests, over all requests, at most this. */
  errorRate: number;
}

export const DEFAULT_THRESHOLDS: BenchmarkThresholds = { sqlP99Ms: 50, recallMean: 0.95, httpP99Ms: 50, errorRate: 0 };

export type CheckStatus = 'pass' | 'fail' | 'skipped';

export interface BenchmarkCheck {
  name: string;
  value: number | null;
  comparator: '<' | '<=' | '>=';
  threshold: number;
  status: CheckStatus;
  detail: string;
}

export interface VerdictFigures {
  productionEfSearch: number;
  serial: { efSearch: number; latency: { p99: number }; recall: { mean: number; zeroShare: number } }[];
  concurrency: { queries: number; errors: number }[];
  http: { requests: number; non2xx: number; errors: number; latency: { p99: number; count: number } } | null;
}

function check(name: string, value: number | null, comparator: BenchmarkCheck['comparator'], threshold: number, detail: string): BenchmarkCheck {
  if (value === null) return { name, value, comparator, threshold, status: 'skipped', detail };
  const ok = comparator === '<' ? value < threshold : comparator === '<=' ? value <= threshold : value >= threshold;
  return { name, value, comparator, threshold, status: ok ? 'pass' : 'fail', detail };
}

export function judgeBenchmark(t: BenchmarkThresholds, f: VerdictFigures): { verdict: 'pass' | 'fail'; checks: BenchmarkCheck[] } {
  const ef = f.productionEfSearch;
  const prod = f.serial.find((s) => s.efSearch === ef);
  const sqlQueries = f.concurrency.reduce((n, c) => n + c.queries + c.errors, 0);
  const sqlErrors = f.concurrency.reduce((n, c) => n + c.errors, 0);
  const httpFailed = f.http ? f.http.non2xx + f.http.errors : 0;
  const total = sqlQueries + (f.http?.requests ?? 0);
  const checks = [
    check(`SQL p99 (ms) at ef_search=${ef}`, prod?.latency.p99 ?? null, '<', t.sqlP99Ms, prod ? 'serial, warm' : `ef_search ${ef} was not measured`),
    check(`recall@10 mean at ef_search=${ef}`, prod?.recall.mean ?? null, '>=', t.recallMean,
      prod ? `${(prod.recall.zeroShare * 100).toFixed(1)}% of queries at recall 0` : `ef_search ${ef} was not measured`),
    check('HTTP p99 (ms)', f.http && f.http.latency.count > 0 ? f.http.latency.p99 : null, '<', t.httpP99Ms,
      f.http ? (f.http.latency.count > 0 ? '2xx responses only' : 'no 2xx response to measure') : 'HTTP phase skipped'),
    check('error rate', total === 0 ? null : (sqlErrors + httpFailed) / total, '<=', t.errorRate,
      `${sqlErrors} SQL errors, ${f.http ? `${f.http.non2xx} non-2xx and ${f.http.errors} failed HTTP requests` : 'no HTTP phase'}, of ${total}`),
  ];
  // Missing figures that the verdict depends on are failures, not skips.
  if (!prod) checks[0]!.status = checks[1]!.status = 'fail';
  if (f.http && f.http.latency.count === 0) checks[2]!.status = 'fail';
  return { verdict: checks.some((c) => c.status === 'fail') ? 'fail' : 'pass', checks };
}
