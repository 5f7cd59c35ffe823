/**
 * Capacity runway: from the figures every capacityRecheck stores (src/benchmark/runway-store.ts),
 * fit how production grows over time and what each limited quantity costs per row, and project the
 * date production reaches each limit. Pure (no I/O): capacityRecheck builds its measurement
 * (`runwaySampleOf` in src/workflows/capacity-recheck.ts), its activity adds the live row count, the
 * CLI fits with `projectRunway`.
 *
 * Two row counts per sample: the live database's (production's size, counted when the recheck
 * stores its sample) and the capacity dataset's the recheck measured (a fixed `--traces`, so it does
 * not grow by itself). The model, each fitted by least squares over the stored samples:
 * - production over time: liveRows = r0 + g · days (linear growth);
 * - index size and the build's graph estimate over capacity rows: bytes = b · rows, through the
 *   origin. Both are a fixed cost per row (the graph estimate is n × (8 + 4·dims) × 1.3; the index's
 *   pages hold one tuple per row plus a metapage), so one dataset size already gives bytes per row,
 *   and samples at several sizes refine it. The crossing is limit / (bytes per row);
 * - p99 over capacity rows: p99 = a + b · ln(rows), which needs samples at 2 or more dataset sizes.
 *   An HNSW search descends one node per layer and the layer count grows with log(rows), then
 *   searches the bottom layer with a fixed ef_search, so its work and its latency grow with the
 *   logarithm of the rows, not linearly; a linear fit would put the SLO crossing far too early.
 * A projection is the date at which the live growth fit reaches the crossing rows. Where that cannot
 * be said honestly, the projection has no date and says why.
 */
import { DEFAULT_LAUNCH_THRESHOLDS } from '../workflows/launch-criteria.js';
import { fitLine, fitThroughOrigin, type Line } from './least-squares.js';

/** What one capacityRecheck measured, from its children's reports (the workflow builds it). */
export interface RunwayMeasurement {
  /** When the figures were measured (the benchmark's time), ISO 8601. */
  measuredAt: string;
  /** Rows of the re-checked capacity dataset the figures below were measured at (the index's rows). */
  capacityRows: number;
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

/** A row of capacity_runway_samples: the measurement next to production's size. */
export interface RunwaySample extends RunwayMeasurement {
  /** Traces with an embedding in the live database when the sample was stored. */
  liveRows: number;
}

/** What the recheck workflow hands its activity, which counts the live rows and stores the sample. */
export interface RunwayRecord extends RunwayMeasurement {
  workflowId: string;
  benchmarkRunId: string;
}

/** Fewer samples than this give a growth line through (nearly) every point: a trend needs a third to be one. */
export const MIN_RUNWAY_RUNS = 3;

export const DAY_MS = 86_400_000;
/** The largest time a Date holds (ECMAScript's ±8.64e15 ms). */
const MAX_DATE_MS = 8.64e15;

export type ProjectionStatus =
  /** A date: production's growth fit reaches the crossing rows then. */
  | 'projected'
  /** Production's rows are already at or past the crossing rows. */
  | 'already-past'
  /** Too few samples with the figure, or too few for a growth trend. */
  | 'not-enough-runs'
  /** p99 was measured at one dataset size only: a fit over rows needs re-checks at 2 or more. */
  | 'one-dataset-size'
  /** Production does not grow over time, so no date is ever reached. */
  | 'no-growth'
  /** The quantity does not grow with the rows, so it never reaches its limit. */
  | 'not-rising'
  /** The fit crosses the limit below a dataset size that measured the quantity under it: the data is too noisy to say. */
  | 'inconsistent'
  /** The crossing lies beyond the last date a Date can hold (the year 275760): never, in practice. */
  | 'beyond-horizon';

export type RunwayMetric = 'index-vs-shared-buffers' | 'graph-vs-maintenance-work-mem' | 'sql-p99-vs-slo' | 'http-p99-vs-slo';
/** per-row: bytes = b · rows (through the origin); log-rows: p99 = a + b · ln(rows). */
export type QuantityModel = 'per-row' | 'log-rows';

export interface Projection {
  metric: RunwayMetric;
  /** What crosses what, for people. */
  label: string;
  unit: 'bytes' | 'ms';
  model: QuantityModel;
  /** The limit, as in the latest sample that has the quantity (settings may change between runs). */
  limit: number | null;
  /** The latest sample's measured value, and the dataset size it was measured at. */
  latest: number | null;
  latestCapacityRows: number | null;
  /** The quantity's fit over rows (x = rows with intercept 0 for per-row, ln(rows) for log-rows); null when it could not be fitted. */
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
  /** liveRows = intercept + slope · (days since the epoch); null with fewer than MIN_RUNWAY_RUNS samples or one instant. */
  fit: Line | null;
  rowsPerDay: number | null;
  reason: string | null;
}

export interface RunwayForecast {
  runs: number;
  first: string | null;
  latest: string | null;
  /** Production's rows in the latest sample. */
  latestLiveRows: number | null;
  /** The largest dataset the re-checks measured. */
  largestCapacityRows: number | null;
  growth: RunwayGrowth;
  projections: Projection[];
  /** What limits every projection, such as a benchmark smaller than production. */
  notes: string[];
}

interface QuantitySpec {
  metric: RunwayMetric;
  label: string;
  unit: Projection['unit'];
  model: QuantityModel;
  value: (s: RunwayMeasurement) => number | null;
  limit: (s: RunwayMeasurement) => number;
}

/** The SLO is the launch's own threshold (the launch gate fails at or above it). */
export const RUNWAY_QUANTITIES: readonly QuantitySpec[] = [
  {
    metric: 'index-vs-shared-buffers', label: 'index size reaches shared_buffers', unit: 'bytes', model: 'per-row',
    value: (s) => s.indexBytes, limit: (s) => s.sharedBuffersBytes,
  },
  {
    metric: 'graph-vs-maintenance-work-mem', label: 'index build spills past maintenance_work_mem', unit: 'bytes', model: 'per-row',
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
/** How to point at a re-check of another size: the recheck's input, as the schedule sets it. */
const RECHECK_SIZE_HINT = 'capacityRecheck --traces N (schedule create --traces N)';

/** The fitted quantity at a row count. */
export function fitValue(model: QuantityModel, fit: Line, rows: number): number {
  return fit.intercept + fit.slope * (model === 'per-row' ? rows : Math.log(rows));
}

/** Rows at which a quantity fitted with `model` reaches `limit` (the fit's slope must be > 0). */
function crossingRowsOf(model: QuantityModel, fit: Line, limit: number): number {
  const x = (limit - fit.intercept) / fit.slope;
  return model === 'per-row' ? x : Math.exp(x);
}

export function fitGrowth(samples: readonly RunwaySample[]): RunwayGrowth {
  if (samples.length < MIN_RUNWAY_RUNS) {
    return { fit: null, rowsPerDay: null, reason: `${samples.length} sample(s) stored; a growth trend needs at least ${MIN_RUNWAY_RUNS}` };
  }
  const fit = fitLine(samples.map((s) => ({ x: timeOf(s), y: s.liveRows })));
  if (!fit) return { fit: null, rowsPerDay: null, reason: 'every sample was taken at the same time' };
  if (fit.slope <= 0) {
    const rows = new Set(samples.map((s) => s.liveRows));
    const what = rows.size === 1 ? `production stayed at ${fmtRows(samples[0]!.liveRows)} rows in every sample` : `production shrinks by ${fmtRows(-fit.slope)} rows a day`;
    return { fit, rowsPerDay: fit.slope, reason: `no growth: ${what}` };
  }
  return { fit, rowsPerDay: fit.slope, reason: null };
}

type QuantityFit = { fit: Line } | { status: ProjectionStatus; reason: string; fit?: Line };

function fitQuantity(spec: QuantitySpec, measured: readonly RunwaySample[]): QuantityFit {
  const points = measured.map((s) => ({ x: s.capacityRows, y: spec.value(s)! }));
  if (spec.model === 'per-row') {
    const perRow = fitThroughOrigin(points);
    if (perRow === null || perRow <= 0) return { status: 'not-rising', reason: 'the measurements give no positive bytes per row, so it never reaches the limit' };
    return { fit: { intercept: 0, slope: perRow } };
  }
  const sizes = [...new Set(points.map((p) => p.x))];
  if (sizes.length < 2) {
    return {
      status: 'one-dataset-size',
      reason: `every re-check measured it at one dataset size (${fmtRows(sizes[0]!)} rows): projecting p99 over rows needs re-checks at 2 or more dataset sizes; run ${RECHECK_SIZE_HINT} with another N`,
    };
  }
  const fit = fitLine(points.map((p) => ({ x: Math.log(p.x), y: p.y })))!;
  if (fit.slope <= 0) return { status: 'not-rising', reason: 'the fit does not rise with the rows, so it never reaches the limit', fit };
  return { fit };
}

function project(spec: QuantitySpec, samples: readonly RunwaySample[], growth: RunwayGrowth): Projection {
  const measured = samples.filter((s) => spec.value(s) !== null);
  const last = measured.at(-1);
  const liveRows = samples.at(-1)?.liveRows ?? 0;
  const limit = last ? spec.limit(last) : null;
  const latest = last ? spec.value(last) : null;
  const base = { metric: spec.metric, label: spec.label, unit: spec.unit, model: spec.model, limit, latest, latestCapacityRows: last?.capacityRows ?? null };
  const none = (status: ProjectionStatus, reason: string, fit: Line | null = null, crossingRows: number | null = null): Projection => ({
    ...base, fit, crossingRows, status, at: null, date: null, reason,
  });
  if (!last || latest === null || limit === null) return none('not-enough-runs', 'no stored sample has this figure');
  const fitted = fitQuantity(spec, measured);
  if ('status' in fitted) {
    // Without a fit, a limit already measured at a size production has reached is still known to be past.
    if (latest >= limit && liveRows >= last.capacityRows) {
      return none('already-past', `the ${dayOf(last.measuredAt)} re-check measured it at or over the limit at ${fmtRows(last.capacityRows)} rows, and production has ${fmtRows(liveRows)}`);
    }
    return none(fitted.status, fitted.reason, fitted.fit ?? null);
  }
  const { fit } = fitted;
  const crossingRows = crossingRowsOf(spec.model, fit, limit);
  const under = measured.filter((s) => spec.value(s)! < limit).map((s) => s.capacityRows);
  const largestUnder = Math.max(0, ...under);
  if (crossingRows < largestUnder) {
    return none(
      'inconsistent',
      `the fit reaches the limit at ${fmtRows(crossingRows)} rows, below the ${fmtRows(largestUnder)}-row re-check that measured it under the limit: too noisy to project`,
      fit, crossingRows,
    );
  }
  if (liveRows >= crossingRows) {
    return none('already-past', `production's ${fmtRows(liveRows)} rows are past the ${fmtRows(crossingRows)} rows at which it reaches the limit`, fit, crossingRows);
  }
  if (!growth.fit) return none('not-enough-runs', `reached at ${fmtRows(crossingRows)} rows; ${growth.reason ?? 'production has no growth trend'}`, fit, crossingRows);
  if (growth.fit.slope <= 0) return none('no-growth', `reached at ${fmtRows(crossingRows)} rows; ${growth.reason ?? 'production does not grow'}`, fit, crossingRows);
  const ms = ((crossingRows - growth.fit.intercept) / growth.fit.slope) * DAY_MS;
  if (!(ms <= MAX_DATE_MS)) return none('beyond-horizon', `reached at ${fmtRows(crossingRows)} rows, too far ahead for a date at this growth`, fit, crossingRows);
  const at = new Date(ms).toISOString();
  return {
    ...base, fit, crossingRows, status: 'projected', at, date: dayOf(at),
    reason: `reached at ${fmtRows(crossingRows)} rows; production (${fmtRows(liveRows)} rows) grows by ${fmtRows(growth.fit.slope)} rows a day`,
  };
}

/** Fits and projects over the stored samples (any order; sorted by time here). */
export function projectRunway(samples: readonly RunwaySample[]): RunwayForecast {
  const sorted = [...samples].sort((a, b) => Date.parse(a.measuredAt) - Date.parse(b.measuredAt));
  const growth = fitGrowth(sorted);
  const latestLiveRows = sorted.at(-1)?.liveRows ?? null;
  const largestCapacityRows = sorted.length ? Math.max(...sorted.map((s) => s.capacityRows)) : null;
  const notes: string[] = [];
  if (latestLiveRows !== null && largestCapacityRows !== null && latestLiveRows > largestCapacityRows) {
    notes.push(
      `production's ${fmtRows(latestLiveRows)} rows exceed the largest re-checked dataset (${fmtRows(largestCapacityRows)} rows): ` +
        `the benchmark no longer covers production's size; run ${RECHECK_SIZE_HINT} with N at production's size or above`,
    );
  }
  return {
    runs: sorted.length,
    first: sorted[0]?.measuredAt ?? null,
    latest: sorted.at(-1)?.measuredAt ?? null,
    latestLiveRows,
    largestCapacityRows,
    growth,
    projections: RUNWAY_QUANTITIES.map((q) => project(q, sorted, growth)),
    notes,
  };
}
