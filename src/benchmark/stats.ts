/**
 * Latency and recall statistics. Latencies are recorded in whole microseconds in an HDR histogram
 * (3 significant digits: every percentile is within 0.1% of the true sample), so a run of a million
 * queries costs a few kilobytes and percentiles never come from a sorted sample that was cut short.
 */
import { build, type Histogram } from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  /** All in milliseconds, rounded to the microsecond. */
  mean: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

export interface CdfPoint {
  percentile: number;
  ms: number;
}

export interface RecallSummary {
  queries: number;
  mean: number;
  /** 5th percentile: the recall that 95% of queries reach or beat. */
  p5: number;
  min: number;
  /** Share of queries that found none of their true neighbours (clustered data is bimodal). */
  zeroShare: number;
}

/** One hour in microseconds: anything slower is a hung query, not a latency sample. */
const HIGHEST_TRACKABLE_US = 3_600_000_000;

export function createLatencyHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_TRACKABLE_US, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records an elapsed time given in milliseconds (e.g. performance.now() deltas) as microseconds. */
export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.min(HIGHEST_TRACKABLE_US, Math.max(1, Math.round(ms * 1000))));
}

const usToMs = (us: number) => Math.round(us) / 1000;

/** HDR answers with the top of a value's bucket (up to 0.1% high); never above the true maximum. */
const at = (h: Histogram, p: number) => Math.min(h.getValueAtPercentile(p), h.maxValue);

export function summarizeLatency(histogram: Histogram): LatencySummary {
  if (histogram.totalCount === 0) return { count: 0, mean: 0, min: 0, p50: 0, p95: 0, p99: 0, p999: 0, max: 0 };
  return {
    count: histogram.totalCount,
    mean: usToMs(histogram.mean),
    min: usToMs(histogram.minNonZeroValue),
    p50: usToMs(at(histogram, 50)),
    p95: usToMs(at(histogram, 95)),
    p99: usToMs(at(histogram, 99)),
    p999: usToMs(at(histogram, 99.9)),
    max: usToMs(histogram.maxValue),
  };
}

const CDF_PERCENTILES = [...Array.from({ length: 50 }, (_, i) => i * 2), 99, 99.5, 99.9, 99.99];

/** The latency CDF as points for a chart: dense through the body, then the tail percentiles. */
export function latencyCdf(histogram: Histogram): CdfPoint[] {
  if (histogram.totalCount === 0) return [];
  const points = CDF_PERCENTILES.map((p) => ({ percentile: p, ms: usToMs(p === 0 ? histogram.minNonZeroValue : at(histogram, p)) }));
  points.push({ percentile: 100, ms: usToMs(histogram.maxValue) });
  return points;
}

/** Nearest-rank percentile of plain samples (p in 0..100); exact, for small sets such as recalls. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export function summarizeRecall(recalls: readonly number[]): RecallSummary {
  const n = recalls.length;
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  return {
    queries: n,
    mean: n === 0 ? 0 : round(recalls.reduce((s, r) => s + r, 0) / n),
    p5: round(percentile(recalls, 5)),
    min: n === 0 ? 0 : round(Math.min(...recalls)),
    zeroShare: n === 0 ? 0 : round(recalls.filter((r) => r === 0).length / n),
  };
}

/** recall@k of one query: the share of its true top-k found among the returned top-k. */
export function recallAtK(returned: readonly string[], truth: readonly string[], k = 10): number {
  const expected = truth.slice(0, k);
  if (expected.length === 0) return 1;
  const got = new Set(returned.slice(0, k));
  return expected.filter((id) => got.has(id)).length / expected.length;
}
