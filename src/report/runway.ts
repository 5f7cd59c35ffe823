/**
 * The capacity runway report (`bench report --runway`): the projections and the stored runs as
 * tables (text for the terminal, HTML), and the HTML's charts of each fit over its data points, with
 * the limit drawn in. Written to reports/runway/runway.html.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type * as vl from 'vega-lite';
import { formatBytes } from '../bytes.js';
import type { Line } from '../benchmark/least-squares.js';
import { DAY_MS, modelX, RUNWAY_QUANTITIES, type Projection, type RunwayForecast, type RunwaySample } from '../benchmark/runway.js';
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
  if (p.unit === 'bytes') return `${formatBytes(p.fit.slope)}/row`;
  return `${p.fit.slope.toFixed(2)} ms per ln(rows)`;
}

export function growthLine(f: RunwayForecast): string {
  const span = f.first && f.latest ? ` from ${f.first.slice(0, 10)} to ${f.latest.slice(0, 10)}, latest ${fmtRows(f.latestRows ?? 0)} rows` : '';
  const growth = f.growth.reason ?? `rows grow by ${fmtRows(f.growth.rowsPerDay ?? 0)} a day (least squares over the runs)`;
  return `${f.runs} capacity re-check run(s)${span}; ${growth}`;
}

export function runwayTables(f: RunwayForecast, samples: readonly RunwaySample[]): ReportTable[] {
  return [
    {
      title: 'Projections',
      note: 'Each date is when the rows, growing as fitted over time, reach the rows at which the quantity\'s fit over rows reaches its limit. ' +
        'Sizes are fitted linearly in the rows, p99 linearly in ln(rows) (an HNSW search\'s work grows with the graph\'s depth).',
      header: ['projection', 'latest', 'limit', 'fit', 'at rows', 'date (UTC)', 'status', 'why'],
      rows: f.projections.map((p) => [
        p.label, fmtValue(p, p.latest), fmtValue(p, p.limit), fmtFit(p), fmtOptional(p.crossingRows, fmtRows), p.date ?? '—', p.status, p.reason,
      ]),
    },
    {
      title: 'Stored runs',
      note: 'One row per capacityRecheck (capacity_runway_samples); maintenance_work_mem is the most the index build may use.',
      header: ['measured', 'rows', 'index', 'shared_buffers', 'build graph', 'maintenance_work_mem', 'build s', 'p99 ms', 'HTTP p99 ms', 'recall@10'],
      rows: samples.map((s) => [
        s.measuredAt.slice(0, 16).replace('T', ' '), fmtRows(s.rows), formatBytes(s.indexBytes), formatBytes(s.sharedBuffersBytes),
        formatBytes(s.estimatedGraphBytes), formatBytes(s.maintenanceWorkMemBytes), fmtOptional(s.buildSeconds, (v) => v.toFixed(1)),
        fmtOptional(s.p99Ms, fmtMs), fmtOptional(s.httpP99Ms, fmtMs), fmtOptional(s.recallAt10, fmtRecall),
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

type Layer = Extract<vl.TopLevelSpec, { layer: unknown }>['layer'][number];

/** Points and fitted line in one layered chart; the limit, when there is one, as a dashed rule. */
function fitSpec(values: ChartPoint[], x: { title: string; temporal?: boolean }, yTitle: string, limit: { y: number; label: string } | null): vl.TopLevelSpec {
  const encoding = {
    x: { field: 'x', type: x.temporal ? 'temporal' : 'quantitative', title: x.title },
    y: { field: 'y', type: 'quantitative', title: yTitle },
    color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 400 } },
  } as const;
  const layer: Layer[] = [
    { data: { values: values.filter((v) => v.kind === 'fit') }, mark: { type: 'line', strokeDash: [6, 3] }, encoding },
    { data: { values: values.filter((v) => v.kind === 'measured') }, mark: { type: 'point', filled: true, size: 60 }, encoding },
  ];
  if (limit) {
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
function fitCurve(fit: Line, model: Projection['model'], from: number, to: number, series: string, scale: number): ChartPoint[] {
  const steps = model === 'linear' ? 1 : 40;
  return Array.from({ length: steps + 1 }, (_, i) => {
    const rows = from + ((to - from) * i) / steps;
    return { x: rows, y: (fit.intercept + fit.slope * modelX(model, rows)) / scale, series, kind: 'fit' as const };
  });
}

/** How far right a chart over rows reaches: past the crossing when it is near, never beyond 10× the latest rows. */
function rowsRange(samples: readonly RunwaySample[], projections: Projection[]): [number, number] {
  const rows = samples.map((s) => s.rows);
  const latest = Math.max(...rows);
  const crossings = projections.map((p) => p.crossingRows).filter((r): r is number => r !== null && Number.isFinite(r));
  return [Math.min(...rows), Math.min(Math.max(latest, ...crossings) * 1.05, latest * 10)];
}

function quantityChart(title: string, projections: Projection[], samples: readonly RunwaySample[]) {
  const bytes = projections[0]!.unit === 'bytes';
  const scale = bytes ? MiB : 1;
  const [from, to] = rowsRange(samples, projections);
  const values = projections.flatMap((p) => [
    ...samples.flatMap((s) => {
      const v = RUNWAY_QUANTITIES.find((q) => q.metric === p.metric)!.value(s);
      return v === null ? [] : [{ x: s.rows, y: v / scale, series: p.label, kind: 'measured' as const }];
    }),
    ...(p.fit ? fitCurve(p.fit, p.model, from, to, p.label, scale) : []),
  ]);
  const limit = projections.find((p) => p.limit !== null)?.limit ?? null;
  const limitLabel = bytes ? `${formatBytes(limit ?? 0)}` : `SLO ${limit ?? 0} ms`;
  return { title, spec: fitSpec(values, { title: 'rows' }, bytes ? 'MiB' : 'ms', limit === null ? null : { y: limit / scale, label: limitLabel }) };
}

function growthChart(f: RunwayForecast, samples: readonly RunwaySample[]) {
  const values: ChartPoint[] = samples.map((s) => ({ x: s.measuredAt, y: s.rows, series: 'rows', kind: 'measured' }));
  if (f.growth.fit && f.first && f.latest) {
    const dated = f.projections.map((p) => p.at).filter((a): a is string => a !== null).map(Date.parse);
    const start = Date.parse(f.first);
    const end = Math.max(Date.parse(f.latest), ...dated);
    for (const t of [start, end]) values.push({ x: new Date(t).toISOString(), y: f.growth.fit.intercept + (f.growth.fit.slope * t) / DAY_MS, series: 'rows', kind: 'fit' });
  }
  return { title: 'Rows over time (the fit runs on to the last projected date)', spec: fitSpec(values, { title: 'measured', temporal: true }, 'rows', null) };
}

export async function renderRunwayHtml(f: RunwayForecast, samples: readonly RunwaySample[]): Promise<string> {
  const byMetric = (...metrics: Projection['metric'][]) => f.projections.filter((p) => metrics.includes(p.metric));
  const charts = samples.length === 0 ? [] : [
    growthChart(f, samples),
    quantityChart('Index size against rows (limit: shared_buffers)', byMetric('index-vs-shared-buffers'), samples),
    quantityChart('Build graph estimate against rows (limit: maintenance_work_mem)', byMetric('graph-vs-maintenance-work-mem'), samples),
    quantityChart('p99 against rows (fit in ln(rows); limit: the SLO)', byMetric('sql-p99-vs-slo', 'http-p99-vs-slo'), samples),
  ];
  const figures: string[] = [];
  for (const [i, c] of charts.entries()) {
    figures.push(htmlFigure({ id: `runway-${i + 1}`, title: c.title, caption: 'Points: the stored runs. Dashed line: the least-squares fit.', svg: await renderSvg(c.spec) }));
  }
  const sections = runwayTables(f, samples).map(htmlSection);
  return htmlPage('Capacity runway', `<p class="note">${escapeHtml(growthLine(f))}</p>
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
