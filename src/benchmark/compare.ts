/**
 * Night-over-night comparison of two benchmark reports: every shared figure side by side, with p99
 * regressions beyond a relative limit and recall drops beyond an absolute one flagged.
 */
import type { BenchmarkReport } from '../report/schema.js';

export interface CompareLimits {
  /** Flag a p99 that grew by more than this percentage. */
  p99RegressionPct: number;
  /** Flag a recall@10 mean that fell by more than this. */
  recallDrop: number;
}

export const DEFAULT_COMPARE_LIMITS: CompareLimits = { p99RegressionPct: 20, recallDrop: 0.02 };

export interface ComparisonRow {
  metric: string;
  a: number | null;
  b: number | null;
  /** b − a, and b / a − 1 for latencies and throughput. */
  delta: number | null;
  relative: number | null;
  flag: string | null;
}

export interface Comparison {
  a: string;
  b: string;
  rows: ComparisonRow[];
  regressions: ComparisonRow[];
  caveats: string[];
}

type Kind = 'p99' | 'recall' | 'plain';

function row(metric: string, a: number | null | undefined, b: number | null | undefined, kind: Kind, limits: CompareLimits): ComparisonRow {
  const va = a ?? null;
  const vb = b ?? null;
  const delta = va !== null && vb !== null ? vb - va : null;
  const relative = va !== null && vb !== null && va !== 0 ? vb / va - 1 : null;
  let flag: string | null = null;
  if (kind === 'p99' && relative !== null && relative * 100 > limits.p99RegressionPct) {
    flag = `p99 regression +${(relative * 100).toFixed(1)}% (limit ${limits.p99RegressionPct}%)`;
  }
  if (kind === 'recall' && delta !== null && -delta > limits.recallDrop) {
    flag = `recall drop ${(-delta).toFixed(3)} (limit ${limits.recallDrop})`;
  }
  return { metric, a: va, b: vb, delta, relative, flag };
}

const union = (xs: number[], ys: number[]) => [...new Set([...xs, ...ys])].sort((p, q) => p - q);

export function compareReports(a: BenchmarkReport, b: BenchmarkReport, limits: CompareLimits = DEFAULT_COMPARE_LIMITS): Comparison {
  const rows: ComparisonRow[] = [];
  for (const ef of union(a.serial.map((s) => s.efSearch), b.serial.map((s) => s.efSearch))) {
    const sa = a.serial.find((s) => s.efSearch === ef);
    const sb = b.serial.find((s) => s.efSearch === ef);
    rows.push(
      row(`serial p50 ms @ ef_search ${ef}`, sa?.latency.p50, sb?.latency.p50, 'plain', limits),
      row(`serial p99 ms @ ef_search ${ef}`, sa?.latency.p99, sb?.latency.p99, 'p99', limits),
      row(`recall@10 mean @ ef_search ${ef}`, sa?.recall.mean, sb?.recall.mean, 'recall', limits),
      row(`recall@10 p5 @ ef_search ${ef}`, sa?.recall.p5, sb?.recall.p5, 'plain', limits),
      row(`recall = 0 share @ ef_search ${ef}`, sa?.recall.zeroShare, sb?.recall.zeroShare, 'plain', limits),
    );
  }
  for (const c of union(a.concurrency.map((x) => x.clients), b.concurrency.map((x) => x.clients))) {
    const ca = a.concurrency.find((x) => x.clients === c);
    const cb = b.concurrency.find((x) => x.clients === c);
    rows.push(
      row(`QPS @ ${c} clients`, ca?.qps, cb?.qps, 'plain', limits),
      row(`p99 ms @ ${c} clients`, ca?.latency.p99, cb?.latency.p99, 'p99', limits),
      row(`errors @ ${c} clients`, ca?.errors, cb?.errors, 'plain', limits),
    );
  }
  if (a.http || b.http) {
    rows.push(
      row('HTTP p99 ms', a.http?.latency.p99, b.http?.latency.p99, 'p99', limits),
      row('HTTP QPS', a.http?.qps, b.http?.qps, 'plain', limits),
      row('HTTP error rate', a.http?.errorRate, b.http?.errorRate, 'plain', limits),
    );
  }
  const caveats: string[] = [];
  const differs = (what: string, x: unknown, y: unknown) => {
    if (JSON.stringify(x) !== JSON.stringify(y)) caveats.push(`${what} differs: ${JSON.stringify(x)} → ${JSON.stringify(y)}`);
  };
  differs('searchable vectors', a.dataset.traceCount, b.dataset.traceCount);
  differs('dimensions', a.dataset.dimensions, b.dataset.dimensions);
  differs('query set', [a.dataset.queryCount, a.dataset.querySeed], [b.dataset.queryCount, b.dataset.querySeed]);
  differs('index (m, ef_construction)', [a.index.m, a.index.efConstruction], [b.index.m, b.index.efConstruction]);
  // Reports from before halfvec measured the vector index.
  differs('index type', a.index.indexType ?? 'vector', b.index.indexType ?? 'vector');
  differs('k and candidate fetches', [a.method.k, a.method.firstCandidates, a.method.wideCandidates], [b.method.k, b.method.firstCandidates, b.method.wideCandidates]);
  differs('shared_buffers', a.environment.sharedBuffersBytes, b.environment.sharedBuffersBytes);
  differs('PostgreSQL / pgvector', [a.environment.postgres, a.environment.pgvector], [b.environment.postgres, b.environment.pgvector]);
  differs('index prewarmed', a.warmup.prewarmed, b.warmup.prewarmed);
  return { a: a.name, b: b.name, rows, regressions: rows.filter((r) => r.flag !== null), caveats };
}
