/**
 * The report as titled tables of strings: the one layout the terminal, Markdown and HTML writers all
 * render, so the three never disagree about a figure.
 */
import { formatBytes } from '../db/hnsw.js';
import type { BenchmarkReport } from './schema.js';

export interface ReportTable {
  title: string;
  header: string[];
  rows: string[][];
  /** A sentence under the title saying how the figures were taken. */
  note?: string;
}

export const fmtMs = (v: number) => v.toFixed(v >= 100 ? 1 : 2);
export const fmtRecall = (v: number) => v.toFixed(3);
const pct = (v: number) => `${(v * 100).toFixed(v > 0 && v < 0.01 ? 2 : 1)}%`;

export function formatCheckValue(name: string, value: number | null): string {
  if (value === null) return '—';
  if (/recall/.test(name)) return fmtRecall(value);
  if (/rate/.test(name)) return pct(value);
  return fmtMs(value);
}

export function headline(r: BenchmarkReport): string {
  const prod = r.serial.find((s) => s.efSearch === r.method.productionEfSearch);
  const figures = prod ? `SQL p99 ${fmtMs(prod.latency.p99)} ms, recall@10 ${fmtRecall(prod.recall.mean)} at ef_search ${prod.efSearch}` : '';
  const http = r.http ? `, HTTP p99 ${fmtMs(r.http.latency.p99)} ms` : '';
  return `${r.verdict.toUpperCase()} — ${r.name}: ${r.dataset.traceCount} × ${r.dataset.dimensions} vectors; ${figures}${http}`;
}

export function reportTables(r: BenchmarkReport): ReportTable[] {
  const tables: ReportTable[] = [
    {
      title: 'Verdict',
      header: ['check', 'value', 'threshold', 'status', 'detail'],
      rows: r.checks.map((c) => [c.name, formatCheckValue(c.name, c.value), `${c.comparator} ${formatCheckValue(c.name, c.threshold)}`, c.status.toUpperCase(), c.detail]),
    },
    {
      title: 'Serial latency and recall@10 per ef_search',
      note:
        `${r.dataset.queryCount} held-out queries, one at a time, each BEGIN; SET LOCAL hnsw.ef_search; the search statement ` +
        `(LIMIT ${r.method.candidateLimit}, iterative scan ${r.method.iterativeScan}); COMMIT. Latency in ms (recorded in µs, HDR). ` +
        `Plan: ${r.warmup.plan}. Exact neighbours from a verified sequential scan (${r.groundTruth.planNode}).`,
      header: ['ef_search', 'recall mean', 'recall p5', 'recall min', 'recall = 0', 'p50', 'p95', 'p99', 'p99.9', 'max', 'mean'],
      rows: r.serial.map((s) => [
        String(s.efSearch) + (s.efSearch === r.method.productionEfSearch ? ' (prod)' : ''),
        fmtRecall(s.recall.mean), fmtRecall(s.recall.p5), fmtRecall(s.recall.min), pct(s.recall.zeroShare),
        fmtMs(s.latency.p50), fmtMs(s.latency.p95), fmtMs(s.latency.p99), fmtMs(s.latency.p999), fmtMs(s.latency.max), fmtMs(s.latency.mean),
      ]),
    },
    {
      title: `Concurrency sweep at ef_search ${r.method.productionEfSearch}`,
      note: `Each level runs ${r.method.concurrencySeconds} s of back-to-back queries on that many connections. Failed queries are errors, never latencies.`,
      header: ['clients', 'QPS', 'p50', 'p99', 'max', 'queries', 'errors', 'error rate'],
      rows: r.concurrency.map((c) => [
        String(c.clients), c.qps.toFixed(1), fmtMs(c.latency.p50), fmtMs(c.latency.p99), fmtMs(c.latency.max), String(c.queries), String(c.errors), pct(c.errorRate),
      ]),
    },
  ];
  if (r.http) {
    const h = r.http;
    tables.push(
      {
        title: 'HTTP load (search API, end to end)',
        note: `${h.users} users, each with its own API key, for ${h.seconds} s against ${h.baseUrl}, ` +
          (h.ratePerUser ? `open loop at ${h.ratePerUser} requests/s per user (latency from the scheduled send time)` : 'closed loop (autocannon, one connection per user, back to back)') +
          `. API quota: ${h.rateLimitPolicy ?? 'none announced'}. Latencies are of 2xx responses only; other statuses and transport errors are counted apart.`,
        header: ['requests', '2xx', 'non-2xx', 'errors', 'timeouts', 'error rate', 'QPS', 'p50', 'p95', 'p99', 'p99.9', 'max'],
        rows: [[
          String(h.requests), String(h.ok), String(h.non2xx), String(h.errors), String(h.timeouts), pct(h.errorRate), h.qps.toFixed(1),
          fmtMs(h.latency.p50), fmtMs(h.latency.p95), fmtMs(h.latency.p99), fmtMs(h.latency.p999), fmtMs(h.latency.max),
        ]],
      },
      {
        title: 'HTTP status codes',
        header: ['status', 'responses'],
        rows: Object.entries(h.statusCodes).sort(([a], [b]) => a.localeCompare(b)).map(([code, n]) => [code, String(n)]),
      },
    );
  } else {
    tables.push({ title: 'HTTP load (search API, end to end)', header: ['status'], rows: [[`skipped: ${r.httpSkippedReason ?? 'not requested'}`]] });
  }
  if (r.rawFloor) {
    const f = r.rawFloor;
    tables.push({
      title: 'Raw floor (no orchestration)',
      note:
        `The same ${f.queries} queries at ef_search ${f.efSearch}, serially, in ${f.rounds.length} alternating rounds: through the worker's ` +
        `measureSerialSearch activity (searchLatencyProbe workflow) and through ${f.client}. Ratios are of the medians over the rounds.`,
      header: ['round', 'first', 'orchestrated p50', 'orchestrated p99', 'raw p50', 'raw p99'],
      rows: [
        ...f.rounds.map((x, i) => [String(i + 1), x.orchestratedFirst ? 'orchestrated' : 'raw', fmtMs(x.orchestrated.p50), fmtMs(x.orchestrated.p99), fmtMs(x.raw.p50), fmtMs(x.raw.p99)]),
        ['median', '', '', fmtMs(f.orchestratedP99Ms), '', fmtMs(f.rawP99Ms)],
        ['overhead ratio', '', `p50 ${f.p50Ratio.toFixed(2)}`, `p99 ${f.overheadRatio.toFixed(2)}`, '', ''],
      ],
    });
  }
  const e = r.environment;
  const d = r.dataset;
  const i = r.index;
  tables.push({
    title: 'Run, environment, dataset and index',
    header: ['', ''],
    rows: [
      ['run', `${r.name} (${r.runId}), ${r.createdAt}`],
      ['warm-up', `${r.warmup.queries} queries at ef_search ${r.warmup.efSearch}, p50 ${fmtMs(r.warmup.latency.p50)} / p99 ${fmtMs(r.warmup.latency.p99)} ms; ${r.warmup.prewarmed ? 'index prewarmed' : 'index NOT prewarmed'} (${r.warmup.prewarmNote})`],
      ['PostgreSQL / pgvector', `${e.postgres} / ${e.pgvector}`],
      ['host', `${e.cpuModel}, ${e.cpuCores} cores, ${formatBytes(e.ramBytes)} RAM, ${e.platform}, Node ${e.node}`],
      ['shared_buffers / maintenance_work_mem / effective_cache_size', `${formatBytes(e.sharedBuffersBytes)} / ${formatBytes(e.maintenanceWorkMemBytes)} / ${formatBytes(e.effectiveCacheSizeBytes)}`],
      ['workers (processes / parallel / per gather / maintenance)', `${e.maxWorkerProcesses} / ${e.maxParallelWorkers} / ${e.maxParallelWorkersPerGather} / ${e.maxParallelMaintenanceWorkers}`],
      ['dataset', `${d.traceCount} searchable vectors (${d.capacityRows} from ${d.runKey}), ${d.dimensions} dims, ${d.clusters} clusters, sigma ${d.sigma}, generator seed ${d.generatorSeed}, centres ${d.centres.kind}${d.centres.kind === 'seeds' ? ` (${d.centres.seedCount} seeds)` : ''}, model ${d.modelId}`],
      ['load throughput', d.loadRowsPerSecond === null ? 'not measured in this run' : `${d.loadRowsPerSecond} rows/s`],
      ['queries', `${d.queryCount} held-out noisy centre copies, query seed ${d.querySeed}`],
      ['index', i.present ? `${i.name}: m ${i.m ?? 'default'}, ef_construction ${i.efConstruction ?? 'default'}, ${formatBytes(i.bytes)}${i.fitsInSharedBuffers ? ', fits in shared_buffers' : ', does NOT fit in shared_buffers'}` : 'missing'],
      ['index build', i.buildSeconds === null ? 'not built in this run' : `${i.buildSeconds} s`],
      ['ground truth', `${r.groundTruth.cached ? 'cached' : 'computed'} (${r.groundTruth.seconds} s to compute), exact p50 ${r.groundTruth.exactP50Ms === null ? '—' : `${fmtMs(r.groundTruth.exactP50Ms)} ms`}, key ${r.groundTruth.cacheKey}`],
      ...r.warnings.map((w) => ['warning', w]),
    ],
  });
  return tables;
}
