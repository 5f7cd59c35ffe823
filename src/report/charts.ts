/**
 * The report's charts as Vega-Lite specs, rendered to SVG on the server (renderer 'none': no browser,
 * no canvas), so the HTML report is one self-contained file.
 */
import type * as vl from 'vega-lite';
import type { BenchmarkReport } from './schema.js';
import { phaseSeries } from './tables.js';
import { WINDOW_SECONDS } from '../benchmark/time-series.js';

export interface Chart {
  id: string;
  title: string;
  caption: string;
  svg: string;
}

const SIZE = { width: 560, height: 300 };

function latencyCdfSpec(r: BenchmarkReport): vl.TopLevelSpec {
  const values = r.serial.flatMap((s) => s.cdf.map((p) => ({ ef: `ef_search ${s.efSearch}`, ms: Math.max(p.ms, 0.001), percentile: p.percentile })));
  return {
    ...SIZE,
    data: { values },
    mark: { type: 'line', interpolate: 'step-after', point: false },
    encoding: {
      x: { field: 'ms', type: 'quantitative', scale: { type: 'log', nice: false }, title: 'latency (ms, log scale)' },
      y: { field: 'percentile', type: 'quantitative', scale: { domain: [0, 100] }, title: 'percentile of queries' },
      color: { field: 'ef', type: 'nominal', title: null, sort: r.serial.map((s) => `ef_search ${s.efSearch}`) },
    },
  };
}

function qpsSpec(r: BenchmarkReport): vl.TopLevelSpec {
  const values = r.concurrency.map((c) => ({
    clients: c.clients, qps: c.qps, statement: c.statement === 'search' ? 'search statement' : 'raw pgvector floor',
    above: `${c.qps.toFixed(0)} QPS`, below: `p99 ${c.latency.p99.toFixed(1)} ms`,
  }));
  const top = Math.max(1, ...values.map((v) => v.qps)) * 1.15;
  return {
    ...SIZE,
    data: { values },
    encoding: {
      x: { field: 'clients', type: 'quantitative', scale: { type: 'log', base: 2, padding: 60 }, axis: { values: r.concurrency.map((c) => c.clients) }, title: 'concurrent clients' },
      y: { field: 'qps', type: 'quantitative', title: 'queries per second', scale: { domain: [0, top] } },
      color: { field: 'statement', type: 'nominal', title: null },
    },
    layer: [
      { mark: { type: 'line', point: true } },
      { mark: { type: 'text', dy: -10, fontSize: 10 }, encoding: { text: { field: 'above' } } },
      { mark: { type: 'text', dy: 14, fontSize: 10, color: '#59606d' }, encoding: { text: { field: 'below' } } },
    ],
  };
}

function recallVsP99Spec(r: BenchmarkReport): vl.TopLevelSpec {
  const values = r.serial.map((s) => ({ ef: `ef ${s.efSearch}`, efSearch: s.efSearch, p99: s.latency.p99, recall: s.recall.mean }));
  // Recall never exceeds 1: the axis stops there instead of padding past it.
  const low = Math.max(0, Math.min(...values.map((v) => v.recall)) - 0.02);
  return {
    ...SIZE,
    data: { values },
    encoding: {
      x: { field: 'p99', type: 'quantitative', title: 'serial p99 (ms)', scale: { zero: false, padding: 20 } },
      y: { field: 'recall', type: 'quantitative', title: 'recall@10 (mean)', scale: { domain: [low, 1], nice: false } },
    },
    layer: [
      // Connected in ef_search order: the curve is the trade-off as ef_search grows.
      { mark: { type: 'line', point: { size: 60 } }, encoding: { order: { field: 'efSearch' } } },
      { mark: { type: 'text', dx: 8, dy: -8, align: 'left', fontSize: 11 }, encoding: { text: { field: 'ef' } } },
    ],
  };
}

/**
 * p99 and QPS per time window, one line per phase: the concurrency sweep and the HTTP phases (the
 * short throughput rounds, a window or so each, are in timeseries.csv only). Empty windows (no
 * completion, so no p99) are left out. null when no such phase has a window.
 */
function overTimeSpec(r: BenchmarkReport): vl.TopLevelSpec | null {
  const phases = phaseSeries(r).filter((p) => !p.phase.startsWith('throughput-round'));
  const values = phases.flatMap((p) => p.windows.filter((w) => w.count > 0).map((w) => ({ phase: p.label, start: w.startSeconds, p99: w.p99, qps: w.qps })));
  if (values.length === 0) return null;
  const x = { field: 'start', type: 'quantitative', title: 'window start (s into the phase)', axis: { tickMinStep: WINDOW_SECONDS } } as const;
  const color = { field: 'phase', type: 'nominal', title: null, sort: phases.map((p) => p.label), legend: { labelLimit: 300 } } as const;
  // Narrower than the other charts: the phase legend beside it takes the rest of the width.
  const width = SIZE.width - 160;
  return {
    data: { values },
    vconcat: [
      { width, height: 220, mark: { type: 'line', point: true }, encoding: { x, y: { field: 'p99', type: 'quantitative', title: 'p99 (ms)' }, color } },
      { width, height: 110, mark: { type: 'line', point: true }, encoding: { x, y: { field: 'qps', type: 'quantitative', title: 'QPS' }, color } },
    ],
  };
}

export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  // Loaded here: Vega and Vega-Lite are some 300 modules, which every process that imports the report
  // code (the CLI, every worker) would otherwise load before it draws anything.
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function reportCharts(r: BenchmarkReport): Promise<Chart[]> {
  const charts: { id: string; title: string; caption: string; spec: vl.TopLevelSpec | null }[] = [
    {
      id: 'latency-cdf',
      title: 'Serial latency CDF per ef_search',
      caption: 'Share of queries answered within a given latency, one line per ef_search (warm, serial).',
      spec: latencyCdfSpec(r),
    },
    {
      id: 'qps-concurrency',
      title: `QPS against concurrency (ef_search ${r.method.productionEfSearch})`,
      caption: 'Throughput of successful queries per concurrency level, labelled with its p99.',
      spec: r.concurrency.length > 0 ? qpsSpec(r) : null,
    },
    {
      id: 'recall-p99',
      title: 'recall@10 against p99',
      caption: 'The ef_search trade-off: each point is one ef_search value.',
      spec: recallVsP99Spec(r),
    },
    {
      id: 'load-over-time',
      title: `p99 and QPS per ${WINDOW_SECONDS} s window of each load phase`,
      caption: 'One line per phase (concurrency levels, HTTP load, ceiling and the load while writing); a p99 line that climbs is a queue growing during the phase.',
      spec: overTimeSpec(r),
    },
  ];
  const rendered: Chart[] = [];
  for (const c of charts) {
    if (c.spec) rendered.push({ id: c.id, title: c.title, caption: c.caption, svg: await renderSvg(c.spec) });
  }
  return rendered;
}
