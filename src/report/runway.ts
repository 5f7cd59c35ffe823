/**
 * The capacity runway report (`bench report --runway`): the projections and the stored samples as
 * tables (text for the terminal, HTML), and the HTML's charts: production's rows over time with
 * their fit and the crossing row counts as limits, and each quantity's fit over the re-checked rows
 * with its limit. Written to reports/runway/runway.html.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type * as vl from 'vega-lite';
import { formatBytes } from '../bytes.js';
import type { Line } from '../benchmark/least-squares.js';
import { DAY_MS, fitValue, RUNWAY_QUANTITIES, type Projection, type RunwayForecast, type RunwaySample } from '../benchmark/runway.js';
import { resolveProjectPath } from '../paths.js';
import { renderSvg } from './charts.js';
import { escapeHtml, htmlFigure, htmlPage, htmlSection } from './html.js';
import { fmtMs, fmtRecall, type ReportTable } from './tables.js';
import { DEFAULT_REPORTS_DIR, writeAtomically } from './write.js';

const MiB = 1024 * 1024;
const fmtRows = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtValue = (p: Projection, v: number | null) => (v === null ? '—' : p.unit === 'bytes' ? formatBytes(v) : `${fmtMs(v)} ms`);
const fmtOptional = (v: number | null, f: (v: number) => string) => (v === null ? '—' : f(v));

function fmtFit(p: Projection): string {
  if (!p.fit) return '—';
  if (p.model === 'per-row') return `${formatBytes(p.fit.slope)}/row`;
  return `${p.fit.slope.toFixed(2)} ms per ln(rows)`;
}

export function growthLine(f: RunwayForecast): string {
  if (f.runs === 0) return 'no capacity re-check sample stored yet';
  const span = `${f.runs} capacity re-check sample(s) from ${f.first!.slice(0, 10)} to ${f.latest!.slice(0, 10)}`;
  const sizes = `re-checked at up to ${fmtRows(f.largestCapacityRows ?? 0)} rows`;
  const growth = f.growth.reason ?? `growing by ${fmtRows(f.growth.rowsPerDay ?? 0)} rows a day (least squares over the samples)`;
  return `${span}, ${sizes}; production: ${fmtRows(f.latestLiveRows ?? 0)} live rows, ${growth}`;
}

export function runwayTables(f: RunwayForecast, samples: readonly RunwaySample[]): ReportTable[] {
  return [
    {
      title: 'Projections',
      note: 'Each date is when production\'s live rows, growing as fitted over time, reach the rows at which the quantity reaches its limit. ' +
        'Sizes are a cost per row (least squares through the origin over the re-checks), p99 is fitted linearly in ln(rows) over re-checks at ' +
        'different dataset sizes (an HNSW search\'s work grows with the graph\'s depth).',
      header: ['projection', 'latest', 'at rows', 'limit', 'fit', 'crossing rows', 'date (UTC)', 'status', 'why'],
      rows: f.projections.map((p) => [
        p.label, fmtValue(p, p.latest), fmtOptional(p.latestCapacityRows, fmtRows), fmtValue(p, p.limit), fmtFit(p),
        fmtOptional(p.crossingRows, fmtRows), p.date ?? '—', p.status, p.reason,
      ]),
    },
    {
      title: 'Stored samples',
      note: 'One row per capacityRecheck (capacity_runway_samples): production\'s live rows, and what the re-check measured at its dataset\'s rows; ' +
        'maintenance_work_mem is the most the index build may use.',
      header: ['measured', 'live rows', 'capacity rows', 'index', 'shared_buffers', 'build graph', 'maintenance_work_mem', 'build s', 'p99 ms', 'HTTP p99 ms', 'recall@10'],
      rows: samples.map((s) => [
        s.measuredAt.slice(0, 16).replace('T', ' '), fmtRows(s.liveRows), fmtRows(s.capacityRows), formatBytes(s.indexBytes),
        formatBytes(s.sharedBuffersBytes), formatBytes(s.estimatedGraphBytes), formatBytes(s.maintenanceWorkMemBytes),
        fmtOptional(s.buildSeconds, (v) => v.toFixed(1)), fmtOptional(s.p99Ms, fmtMs), fmtOptional(s.httpP99Ms, fmtMs), fmtOptional(s.recallAt10, fmtRecall),
      ]),
    },
  ];
}

interface ChartPoint {
  x: number | string;
  y: number;
  series: string;
  kind: 'measured' | 'fit';
}

interface Limit {
  y: number;
  label: string;
}

type Layer = Extract<vl.TopLevelSpec, { layer: unknown }>['layer'][number];

/** Points and fitted line in one layered chart; each limit as a dashed horizontal rule with its label. */
function fitSpec(values: ChartPoint[], x: { title: string; temporal?: boolean }, yTitle: string, limits: Limit[]): vl.TopLevelSpec {
  const encoding = {
    x: { field: 'x', type: x.temporal ? 'temporal' : 'quantitative', title: x.title },
    y: { field: 'y', type: 'quantitative', title: yTitle },
    color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 400 } },
  } as const;
  const layer: Layer[] = [
    { data: { values: values.filter((v) => v.kind === 'fit') }, mark: { type: 'line', strokeDash: [6, 3] }, encoding },
    { data: { values: values.filter((v) => v.kind === 'measured') }, mark: { type: 'point', filled: true, size: 60 }, encoding },
  ];
  for (const limit of limits) {
    layer.push(
      // One datum each: a layer without data of its own would draw nothing (the other layers bring theirs).
      { data: { values: [{}] }, mark: { type: 'rule', color: '#a11a1a', strokeDash: [2, 2] }, encoding: { y: { datum: limit.y } } },
      {
        data: { values: [{}] }, mark: { type: 'text', color: '#a11a1a', align: 'left', dx: 4, dy: -6, x: 0 },
        encoding: { y: { datum: limit.y }, text: { value: `limit: ${limit.label}` } },
      },
    );
  }
  return { width: 560, height: 280, layer };
}

/** The fitted curve sampled between two row counts (a log-rows fit is a curve in rows). */
function fitCurve(p: Projection & { fit: Line }, from: number, to: number, scale: number): ChartPoint[] {
  const steps = p.model === 'per-row' ? 1 : 40;
  return Array.from({ length: steps + 1 }, (_, i) => {
    const rows = from + ((to - from) * i) / steps;
    return { x: rows, y: fitValue(p.model, p.fit, rows) / scale, series: `${p.label} (fit)`, kind: 'fit' as const };
  });
}

/** How far right a chart over rows reaches: past production and the crossing when they are near, never beyond 10× the largest re-check. */
function rowsRange(f: RunwayForecast, samples: readonly RunwaySample[], projections: Projection[]): [number, number] {
  const largest = Math.max(...samples.map((s) => s.capacityRows));
  const crossings = projections.map((p) => p.crossingRows).filter((r): r is number => r !== null && Number.isFinite(r));
  const to = Math.min(Math.max(largest, f.latestLiveRows ?? 0, ...crossings) * 1.05, largest * 10);
  const from = projections.some((p) => p.model === 'log-rows') ? Math.min(...samples.map((s) => s.capacityRows)) : 0;
  return [from, to];
}

function quantityChart(title: string, f: RunwayForecast, projections: Projection[], samples: readonly RunwaySample[]) {
  const bytes = projections[0]!.unit === 'bytes';
  const scale = bytes ? MiB : 1;
  const [from, to] = rowsRange(f, samples, projections);
  const values = projections.flatMap((p) => [
    ...samples.flatMap((s) => {
      const v = RUNWAY_QUANTITIES.find((q) => q.metric === p.metric)!.value(s);
      return v === null ? [] : [{ x: s.capacityRows, y: v / scale, series: p.label, kind: 'measured' as const }];
    }),
    ...(p.fit ? fitCurve({ ...p, fit: p.fit }, from, to, scale) : []),
  ]);
  const limit = projections.find((p) => p.limit !== null)?.limit ?? null;
  const limits = limit === null ? [] : [{ y: limit / scale, label: bytes ? formatBytes(limit) : `SLO ${limit} ms` }];
  return { title, spec: fitSpec(values, { title: 're-checked dataset rows' }, bytes ? 'MiB' : 'ms', limits) };
}

/** Production's rows over time, the fit running on to the last projected date, and each crossing reached by then as a limit. */
function growthChart(f: RunwayForecast, samples: readonly RunwaySample[]) {
  const values: ChartPoint[] = samples.map((s) => ({ x: s.measuredAt, y: s.liveRows, series: 'live rows', kind: 'measured' }));
  if (f.growth.fit && f.first && f.latest) {
    const dated = f.projections.map((p) => p.at).filter((a): a is string => a !== null).map(Date.parse);
    for (const t of [Date.parse(f.first), Math.max(Date.parse(f.latest), ...dated)]) {
      values.push({ x: new Date(t).toISOString(), y: f.growth.fit.intercept + (f.growth.fit.slope * t) / DAY_MS, series: 'live rows (fit)', kind: 'fit' });
    }
  }
  const limits = f.projections
    .filter((p) => (p.status === 'projected' || p.status === 'already-past') && p.crossingRows !== null)
    .map((p) => ({ y: p.crossingRows!, label: `${p.label} at ${fmtRows(p.crossingRows!)} rows` }));
  return { title: 'Production\'s live rows over time (the fit runs on to the last projected date)', spec: fitSpec(values, { title: 'measured', temporal: true }, 'live rows', limits) };
}

export async function renderRunwayHtml(f: RunwayForecast, samples: readonly RunwaySample[]): Promise<string> {
  const byMetric = (...metrics: Projection['metric'][]) => f.projections.filter((p) => metrics.includes(p.metric));
  const charts = samples.length === 0 ? [] : [
    growthChart(f, samples),
    quantityChart('Index size against the re-checked rows (limit: shared_buffers)', f, byMetric('index-vs-shared-buffers'), samples),
    quantityChart('Build graph estimate against the re-checked rows (limit: maintenance_work_mem)', f, byMetric('graph-vs-maintenance-work-mem'), samples),
    quantityChart('p99 against the re-checked rows (fit in ln(rows); limit: the SLO)', f, byMetric('sql-p99-vs-slo', 'http-p99-vs-slo'), samples),
  ];
  const figures: string[] = [];
  for (const [i, c] of charts.entries()) {
    figures.push(htmlFigure({ id: `runway-${i + 1}`, title: c.title, caption: 'Points: the stored samples. Dashed line: the least-squares fit.', svg: await renderSvg(c.spec) }));
  }
  const sections = runwayTables(f, samples).map(htmlSection);
  const notes = [growthLine(f), ...f.notes].map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n');
  return htmlPage('Capacity runway', `${notes}
${sections[0] ?? ''}
<h2>Charts</h2>
<div class="charts">
${figures.join('\n')}
</div>
${sections.slice(1).join('\n')}`);
}

/** Writes <reportsDir>/runway/runway.html and returns its path. */
export async function writeRunwayReport(f: RunwayForecast, samples: readonly RunwaySample[], reportsDir: string = DEFAULT_REPORTS_DIR): Promise<string> {
  const dir = path.join(resolveProjectPath(reportsDir), 'runway');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'runway.html');
  await writeAtomically(file, await renderRunwayHtml(f, samples));
  return file;
}
