/**
 * Capacity runway: from the figures every capacityRecheck stores (src/benchmark/runway-store.ts),
 * fit how the rows grow over time and how each limited quantity grows with the rows, and project the
 * date each quantity reaches its limit. Pure (no I/O): capacityRecheck builds its sample
 * (`runwaySampleOf` in src/workflows/capacity-recheck.ts), the CLI fits with `projectRunway`.
 *
 * The model, each fitted by ordinary least squares over the stored runs:
 * - rows over time: rows = r0 + g · days (linear growth);
 * - index size and the build's graph estimate over rows: bytes = a + b · rows (both are a fixed cost
 *   per row: the graph estimate is n × (8 + 4·dims) × 1.3, the index's pages hold a tuple per row);
 * - p99 over rows: p99 = a + b · ln(rows). An HNSW search descends one node per layer and the layer
 *   count grows with log(rows), then searches the bottom layer with a fixed ef_search, so its work
 *   and its latency grow with the logarithm of the rows, not linearly; a linear fit would put the
 *   SLO crossing far too early.
 * A projection is the date at which the rows fit reaches the rows at which the quantity's fit
 * reaches its limit. Where that cannot be said honestly, the projection has no date and says why.
 */
import { DEFAULT_LAUNCH_THRESHOLDS } from '../workflows/launch-criteria.js';
import { fitLine, type Line } from './least-squares.js';

/** One capacityRecheck's figures: a row of capacity_runway_samples. */
export interface RunwaySample {
  /** When the figures were measured (the benchmark's time), ISO 8601. */
  measuredAt: string;
  /** Rows the index covers (traces with an embedding). */
  rows: number;
  indexBytes: number;
  sharedBuffersBytes: number;
  /** pgvector's in-memory graph estimate for these rows (estimateHnswGraphBytes). */
  estimatedGraphBytes: number;
  /** The most maintenance_work_mem the index build may use (indexBuild raises the session's setting up to it). */
  maintenanceWorkMemBytes: number;
  /** The build's seconds, or null when the index was already there and only verified. */
  buildSeconds: number | null;
  /** SQL p99 and recall@10 at the production ef_search; HTTP p99 when the run had an HTTP phase. */
  p99Ms: number | null;
  httpP99Ms: number | null;
  recallAt10: number | null;
}

/** What the recheck workflow stores: the sample plus what identifies the run. */
export interface RunwayRecord extends RunwaySample {
  workflowId: string;
  benchmarkRunId: string;
}

/** Fewer runs than this give a line through (nearly) every point: a trend needs a third to be one. */
export const MIN_RUNWAY_RUNS = 3;

export const DAY_MS = 86_400_000;
/** The largest time a Date holds (ECMAScript's ±8.64e15 ms). */
const MAX_DATE_MS = 8.64e15;

export type ProjectionStatus =
  /** A date: the rows fit reaches the crossing rows then. */
  | 'projected'
  /** The latest run already measured the quantity at or over its limit. */
  | 'already-past'
  /** Too few runs (or runs at too few distinct row counts) to fit. */
  | 'not-enough-runs'
  /** The rows do not grow over time, so no date is ever reached. */
  | 'no-growth'
  /** The quantity does not grow with the rows, so it never reaches its limit. */
  | 'not-rising'
  /** The fit crosses the limit below the latest run's rows, yet that run measured the quantity under it: the data is too noisy to say. */
  | 'inconsistent'
  /** The crossing lies beyond the last date a Date can hold (the year 275760): never, in practice. */
  | 'beyond-horizon';

export type RunwayMetric = 'index-vs-shared-buffers' | 'graph-vs-maintenance-work-mem' | 'sql-p99-vs-slo' | 'http-p99-vs-slo';
export type QuantityModel = 'linear' | 'log-rows';

export interface Projection {
  metric: RunwayMetric;
  /** What crosses what, for people. */
  label: string;
  unit: 'bytes' | 'ms';
  model: QuantityModel;
  /** The limit, as in the latest run that has the quantity (settings may change between runs). */
  limit: number | null;
  /** The latest run's measured value. */
  latest: number | null;
  /** The quantity's fit over rows (x = rows, or ln(rows) for log-rows); null when it could not be fitted. */
  fit: Line | null;
  /** Rows at which the fit reaches the limit. */
  crossingRows: number | null;
  status: ProjectionStatus;
  /** The projected moment (ISO 8601) and its day (YYYY-MM-DD, UTC); null unless status is projected. */
  at: string | null;
  date: string | null;
  /** Why there is no date, or how the date follows. */
  reason: string;
}

export interface RunwayGrowth {
  /** rows = intercept + slope · (days since the epoch); null with fewer than MIN_RUNWAY_RUNS runs or one instant. */
  fit: Line | null;
  rowsPerDay: number | null;
  reason: string | null;
}

export interface RunwayForecast {
  runs: number;
  first: string | null;
  latest: string | null;
  latestRows: number | null;
  growth: RunwayGrowth;
  projections: Projection[];
}

interface QuantitySpec {
  metric: RunwayMetric;
  label: string;
  unit: Projection['unit'];
  model: QuantityModel;
  value: (s: RunwaySample) => number | null;
  limit: (s: RunwaySample) => number;
}

/** The SLO is the launch's own threshold (the launch gate fails at or above it). */
export const RUNWAY_QUANTITIES: readonly QuantitySpec[] = [
  {
    metric: 'index-vs-shared-buffers', label: 'index size reaches shared_buffers', unit: 'bytes', model: 'linear',
    value: (s) => s.indexBytes, limit: (s) => s.sharedBuffersBytes,
  },
  {
    metric: 'graph-vs-maintenance-work-mem', label: 'index build spills past maintenance_work_mem', unit: 'bytes', model: 'linear',
    value: (s) => s.estimatedGraphBytes, limit: (s) => s.maintenanceWorkMemBytes,
  },
  {
    metric: 'sql-p99-vs-slo', label: 'SQL p99 reaches the SLO', unit: 'ms', model: 'log-rows',
    value: (s) => s.p99Ms, limit: () => DEFAULT_LAUNCH_THRESHOLDS.sqlP99Ms,
  },
  {
    metric: 'http-p99-vs-slo', label: 'HTTP p99 reaches the SLO', unit: 'ms', model: 'log-rows',
    value: (s) => s.httpP99Ms, limit: () => DEFAULT_LAUNCH_THRESHOLDS.httpP99Ms,
  },
];

const dayOf = (iso: string) => iso.slice(0, 10);
const timeOf = (s: RunwaySample) => Date.parse(s.measuredAt) / DAY_MS;
const fmtRows = (n: number) => Math.round(n).toLocaleString('en-US');

/** The model's x for a row count: the rows themselves, or their natural logarithm. */
export function modelX(model: QuantityModel, rows: number): number {
  return model === 'linear' ? rows : Math.log(rows);
}

/** Rows at which a quantity fitted with `model` reaches `limit` (the fit's slope must be > 0). */
function crossingRowsOf(model: QuantityModel, fit: Line, limit: number): number {
  const x = (limit - fit.intercept) / fit.slope;
  return model === 'linear' ? x : Math.exp(x);
}

export function fitGrowth(samples: readonly RunwaySample[]): RunwayGrowth {
  if (samples.length < MIN_RUNWAY_RUNS) {
    return { fit: null, rowsPerDay: null, reason: `${samples.length} run(s) stored; a trend needs at least ${MIN_RUNWAY_RUNS}` };
  }
  const fit = fitLine(samples.map((s) => ({ x: timeOf(s), y: s.rows })));
  if (!fit) return { fit: null, rowsPerDay: null, reason: 'every run was measured at the same time' };
  if (fit.slope <= 0) {
    const rows = new Set(samples.map((s) => s.rows));
    const what = rows.size === 1 ? `the rows stayed at ${fmtRows(samples[0]!.rows)} in every run` : `the rows shrink by ${fmtRows(-fit.slope)} a day`;
    return { fit, rowsPerDay: fit.slope, reason: `no growth: ${what}` };
  }
  return { fit, rowsPerDay: fit.slope, reason: null };
}

function project(spec: QuantitySpec, samples: readonly RunwaySample[], growth: RunwayGrowth): Projection {
  const measured = samples.filter((s) => spec.value(s) !== null);
  const last = measured.at(-1);
  const base = { metric: spec.metric, label: spec.label, unit: spec.unit, model: spec.model };
  const limit = last ? spec.limit(last) : null;
  const latest = last ? spec.value(last) : null;
  const none = (status: ProjectionStatus, reason: string, fit: Line | null = null, crossingRows: number | null = null): Projection => ({
    ...base, limit, latest, fit, crossingRows, status, at: null, date: null, reason,
  });
  if (!last || latest === null || limit === null) return none('not-enough-runs', 'no stored run has this figure');
  if (latest >= limit) return none('already-past', `the latest run (${dayOf(last.measuredAt)}, ${fmtRows(last.rows)} rows) is already at or over the limit`);
  if (!growth.fit) return none('not-enough-runs', growth.reason ?? 'the rows have no trend');
  if (growth.fit.slope <= 0) return none('no-growth', growth.reason ?? 'the rows do not grow');
  const rowCounts = new Set(measured.map((s) => s.rows)).size;
  if (measured.length < MIN_RUNWAY_RUNS || rowCounts < 2) {
    return none('not-enough-runs', `${measured.length} run(s) with this figure at ${rowCounts} row count(s); a fit over rows needs ${MIN_RUNWAY_RUNS} runs at 2 or more row counts`);
  }
  const fit = fitLine(measured.map((s) => ({ x: modelX(spec.model, s.rows), y: spec.value(s)! })));
  if (!fit || fit.slope <= 0) return none('not-rising', 'the fit does not rise with the rows, so it never reaches the limit', fit);
  const crossingRows = crossingRowsOf(spec.model, fit, limit);
  if (crossingRows <= last.rows) {
    return none(
      'inconsistent',
      `the fit reaches the limit at ${fmtRows(crossingRows)} rows, below the latest run's ${fmtRows(last.rows)}, which measured it under the limit: too noisy to project`,
      fit, crossingRows,
    );
  }
  const ms = ((crossingRows - growth.fit.intercept) / growth.fit.slope) * DAY_MS;
  if (!(ms <= MAX_DATE_MS)) return none('beyond-horizon', `reached at ${fmtRows(crossingRows)} rows, too far ahead for a date at this growth`, fit, crossingRows);
  const at = new Date(ms).toISOString();
  return {
    ...base, limit, latest, fit, crossingRows, status: 'projected', at, date: dayOf(at),
    reason: `reached at ${fmtRows(crossingRows)} rows; the rows grow by ${fmtRows(growth.fit.slope)} a day`,
  };
}

/** Fits and projects over the stored samples (any order; sorted by time here). */
export function projectRunway(samples: readonly RunwaySample[]): RunwayForecast {
  const sorted = [...samples].sort((a, b) => Date.parse(a.measuredAt) - Date.parse(b.measuredAt));
  const growth = fitGrowth(sorted);
  return {
    runs: sorted.length,
    first: sorted[0]?.measuredAt ?? null,
    latest: sorted.at(-1)?.measuredAt ?? null,
    latestRows: sorted.at(-1)?.rows ?? null,
    growth,
    projections: RUNWAY_QUANTITIES.map((q) => project(q, sorted, growth)),
  };
}
