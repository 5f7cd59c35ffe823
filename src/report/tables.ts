/**
 * The report as titled tables of strings: the one layout the terminal, Markdown and HTML writers all
 * render, so the three never disagree about a figure.
 */
import { formatBytes } from '../bytes.js';
import { DRIFT_MIN_RATIO, DRIFT_MIN_RISE_MS, DRIFT_MIN_WINDOWS, WINDOW_SECONDS } from '../benchmark/time-series.js';
import type { BenchmarkReport, HttpFigures, IndexTypeComparison, MixedFigures, WindowFigures } from './schema.js';

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
const fmtRatio = (v: number) => v.toFixed(2);
const opt = (v: number | null, f: (v: number) => string) => (v === null ? '—' : f(v));
const harnessStatus = (h: { saturated: boolean; reason: string | null }) => (h.saturated ? `INVALID: ${h.reason ?? 'saturated'}` : 'valid');

/** One load phase's time windows, named as the CSV and the chart name it. */
export interface PhaseSeries {
  /** concurrency, throughput-round-<n>, http, http-ceiling or http-mixed (the search load while writing). */
  phase: string;
  /** The SQL statement (search, raw) or the HTTP mode (closed-loop, open-loop). */
  target: string;
  /** SQL clients or HTTP users. */
  lanes: number;
  /** A legend label, e.g. "SQL search, 4 clients". */
  label: string;
  windows: WindowFigures[];
  drift: { drifting: boolean; reason: string | null };
}

/** Every load phase of the report that has time windows, in run order. */
export function phaseSeries(r: BenchmarkReport): PhaseSeries[] {
  const sql = (phase: string, c: BenchmarkReport['concurrency'][number], suffix = ''): PhaseSeries => ({
    phase, target: c.statement, lanes: c.clients, label: `SQL ${c.statement}, ${c.clients} client${c.clients === 1 ? '' : 's'}${suffix}`, windows: c.windows, drift: c.drift,
  });
  const http = (phase: string, name: string, h: NonNullable<BenchmarkReport['http']>): PhaseSeries => ({
    phase, target: h.mode, lanes: h.users, label: `${name} (${h.mode}, ${h.users} users)`, windows: h.windows, drift: h.drift,
  });
  return [
    ...r.concurrency.map((c) => sql('concurrency', c)),
    ...r.throughputRounds.flatMap((t) => {
      const pair = t.searchFirst ? [t.search, t.raw] : [t.raw, t.search];
      return pair.map((c) => sql(`throughput-round-${t.round}`, c, `, round ${t.round}`));
    }),
    ...(r.http ? [http('http', 'HTTP load', r.http)] : []),
    ...(r.httpCeiling ? [http('http-ceiling', 'HTTP ceiling', r.httpCeiling)] : []),
    ...(r.mixed ? [http('http-mixed', 'HTTP load while writing', r.mixed.read)] : []),
  ];
}

/** Every window of every load phase, one row each: the rows of timeseries.csv. */
export function timeSeriesRows(r: BenchmarkReport): { header: string[]; rows: string[][] } {
  return {
    header: ['phase', 'statement_or_mode', 'clients_or_users', 'window_start_s', 'window_s', 'count', 'errors', 'qps', 'p50_ms', 'p99_ms'],
    rows: phaseSeries(r).flatMap((p) =>
      p.windows.map((w) => [p.phase, p.target, String(p.lanes), String(w.startSeconds), String(w.seconds), String(w.count), String(w.errors), String(w.qps), String(w.p50), String(w.p99)]),
    ),
  };
}

/** A phase's p99 over its windows in a word: RISING (drift), steady, or — with too few windows to tell. */
function p99Trend(p: { windows: readonly WindowFigures[]; drift: { drifting: boolean } }): string {
  if (p.drift.drifting) return 'RISING';
  return p.windows.filter((w) => w.count > 0).length < DRIFT_MIN_WINDOWS ? '—' : 'steady';
}

export function formatCheckValue(name: string, value: number | null): string {
  if (value === null) return '—';
  if (/recall/.test(name)) return fmtRecall(value);
  if (/ratio|\/|phases/.test(name)) return /phases/.test(name) ? String(value) : fmtRatio(value);
  if (/rate/.test(name)) return pct(value);
  return fmtMs(value);
}

export function headline(r: BenchmarkReport): string {
  const prod = r.serial.find((s) => s.efSearch === r.method.productionEfSearch);
  const figures = prod
    ? `SQL p99 ${fmtMs(prod.latency.p99)} ms, recall@${r.method.k} ${fmtRecall(prod.recall.mean)}, re-rank recall ${fmtRecall(prod.rerankRecall.mean)} at ef_search ${prod.efSearch}`
    : '';
  const http = r.http ? `, HTTP p99 ${fmtMs(r.http.latency.p99)} ms` : '';
  return `${r.verdict.toUpperCase()} — ${r.name}: ${r.dataset.traceCount} × ${r.dataset.dimensions} vectors; ${figures}${http}`;
}

const fmtOptMs = (v: number | null) => opt(v, fmtMs);

/** The "Search while writing" section: reads under writes against the read-only phase, then the writes and their delay to searchable. */
export function searchWhileWritingTables(m: MixedFigures, readOnly: HttpFigures | null): ReportTable[] {
  const w = m.writes;
  const d = m.delay;
  const readRow = (phase: string, h: HttpFigures, ratio: string) => [
    phase, String(h.requests), String(h.ok), String(h.non2xx + h.errors), h.qps.toFixed(1),
    fmtMs(h.latency.p50), fmtMs(h.latency.p95), fmtMs(h.latency.p99), fmtMs(h.latency.max), ratio, p99Trend(h), harnessStatus(h.harness),
  ];
  const p99Ratio = readOnly && readOnly.latency.p99 > 0 ? `${fmtRatio(m.read.latency.p99 / readOnly.latency.p99)} ×` : '—';
  return [
    {
      title: 'Search while writing: read latency under writes',
      note:
        `The same search load as the read-only HTTP phase (${m.read.users} users, ${m.read.ratePerUser ? `${m.read.ratePerUser} requests/s each` : 'closed loop'}, ${m.read.seconds} s), ` +
        `run again with contributions written and embedded alongside, in the same run on the same data. Information: not part of the verdict. ` +
        'p99 ratio: the p99 under writes over the read-only p99.',
      header: ['phase', 'requests', '2xx', 'failed', 'QPS', 'p50', 'p95', 'p99', 'max', 'p99 ratio', 'p99 trend', 'harness'],
      rows: [...(readOnly ? [readRow('read-only (HTTP load)', readOnly, '1.00 ×')] : []), readRow('while writing', m.read, p99Ratio)],
    },
    {
      title: 'Search while writing: contributions and their delay to searchable',
      note:
        `Contributions through POST /api/v1/traces by ${w.writers} writer users of their own, each on a fixed schedule staggered across the others. ` +
        'The API stores a contribution pending with no vector (it does not embed on write); the embedding backfill (the embedPendingBatch batch, ' +
        `embedNextBatch) ran through the phase in batches of up to ${m.backfill.batchSize}, waiting ${m.backfill.idleMs} ms whenever nothing was pending. ` +
        `Delay: from the write's 2xx to the first search response that lists the contribution. Every ${d.pollMs} ms the database is asked, by id, ` +
        "which contributions have their vector of the active model; the writer then searches the API with the contribution's own embedding text " +
        '(its vector is the query\'s, so the row is the top hit if the index reaches it), again at every poll until a response lists it. ' +
        `So a contribution counts only once the real search path returns it, to within ${d.pollMs} ms plus one search. ` +
        `Never searchable: not found by ${d.graceSeconds} s after the last write. The writers are deleted through the API at the end, their contributions with them.`,
      header: ['figure', 'value'],
      rows: [
        ['write rate', `${w.writesPerMinute}/min over ${w.writers} writers (${w.perWriterPerMinute.toFixed(1)}/min each, one every ${(w.intervalMs / 1000).toFixed(1)} s); quota ${w.rateLimitPolicy ?? 'none announced'}`],
        ['writes', `${w.planned} scheduled, ${w.requests} sent, ${w.ok} 2xx, ${w.non2xx} non-2xx, ${w.errors} errors` +
          (Object.keys(w.statusCodes).length > 0 ? ` (${Object.entries(w.statusCodes).map(([c, n]) => `${c}: ${n}`).join(', ')})` : '')],
        ['write latency p50 / p99', `${fmtMs(w.latency.p50)} / ${fmtMs(w.latency.p99)} ms (schedule lag p99 ${fmtMs(w.scheduleLagP99Ms)} ms)`],
        ['searchable', `${d.searchable} of ${d.contributions}`],
        ['delay to searchable p50 / p95 / max', `${fmtOptMs(d.p50Ms)} / ${fmtOptMs(d.p95Ms)} / ${fmtOptMs(d.maxMs)} ms`],
        ['never searchable (phase + grace)', `${d.neverSearchable}${d.embeddedNotFound > 0 ? ` (${d.embeddedNotFound} embedded but not found by search)` : ''}`],
        ['searches to find them', `${d.probes} (by the writers, not in the read figures)${d.checkErrors > 0 ? `; ${d.checkErrors} database polls failed` : ''}`],
        ['embedding backfill', `${m.backfill.batches} batches, ${m.backfill.embedded} rows embedded, ${m.backfill.errors} errors${m.backfill.lastError ? ` (last: ${m.backfill.lastError})` : ''}`],
        ['cleanup', `${m.cleanup.writersDeleted} of ${w.writers} writers deleted, ${m.cleanup.contributionsLeft} contributions left`],
      ],
    },
  ];
}

/** The index types side by side; size is also shown relative to the first row (the run's measured type). */
export function indexTypeTable(c: IndexTypeComparison, queries: number): ReportTable {
  const base = c.rows[0]!;
  const relative = (bytes: number) => (base.bytes > 0 ? `${bytes >= base.bytes ? '+' : '−'}${Math.abs(Math.round((bytes / base.bytes - 1) * 1000) / 10)}%` : '—');
  return {
    title: 'Index type',
    note:
      `Each index built on the same rows (m and ef_construction as production, one after the other; both exist during these measurements, and the other types' indexes are dropped before the later phases), then ${queries} ` +
      `queries one at a time at ef_search ${c.efSearch} through the search statement written for it. halfvec: an expression index on embedding::halfvec(1536); ` +
      `its candidates come in half-precision order and are re-ranked with the full-precision distance. recall@${c.k} is the index's own order ` +
      `against the exact neighbours; re-rank recall the search path's top ${c.k} against the exact re-ranked top ${c.k} (same ground truth for every type). ` +
      'Latency in ms.',
    header: ['type', 'index', 'size', `size vs ${base.indexType}`, 'build s', 'p50', 'p99', `recall@${c.k}`, 're-rank recall', 'widened', 'uncertified', 'planner uses it'],
    rows: c.rows.map((t) => [
      t.indexType, t.indexName, formatBytes(t.bytes), t === base ? '' : relative(t.bytes), t.buildSeconds.toFixed(1),
      fmtMs(t.latency.p50), fmtMs(t.latency.p99), fmtRecall(t.recall.mean), fmtRecall(t.rerankRecall.mean), pct(t.widenedShare), pct(t.uncertifiedShare),
      t.usesIndex ? 'yes' : `NO (${t.plan})`,
    ]),
  };
}

/** The filtered phase: one row per tag selectivity (none in reports without the phase). */
function filteredTables(r: BenchmarkReport): ReportTable[] {
  const f = r.filtered;
  if (!f) return [];
  const pass = f.selectivities.find((s) => s.pass)?.pass;
  const { backfill } = f;
  return [{
    title: 'Filtered search',
    note:
      `${r.dataset.queryCount} held-out queries, one at a time, through the search statement with a tag filter (tags: [tag]) on a connection with the ` +
      `production settings (ef_search ${r.method.productionEfSearch}, iterative scan ${r.method.iterativeScan}), top ${r.method.k}. Route: a tag on at most ` +
      `${r.method.exactFilterMaxRows} rows is searched exactly (every row carrying it); others through the HNSW index. recall@${r.method.k} is its ` +
      `top ${r.method.k} against the exact re-ranked top ${r.method.k} among the searchable rows with the tag (computed in process, verified on a sample ` +
      `against PostgreSQL's exact scan). Selectivity is the share of searchable rows carrying the tag (the generator assigns it independently of the cluster). ` +
      `Capacity tags: ${backfill.expected} tag rows for the run's ledger batches, ${backfill.inserted === 0 ? 'all present' : `${backfill.inserted} backfilled`}.` +
      (pass ? ` Plan: ${pass.plan}.` : ''),
    header: ['tag', 'selectivity', 'rows', 'route', 'recall mean', 'recall = 0', '< k rows', 'widened', 'uncertified', 'p50', 'p95', 'p99', 'max', 'ground truth'],
    rows: f.selectivities.map((s) => [
      s.tag, pct(s.share), String(s.rows),
      ...(s.pass
        ? [
          routeLabel(s.pass.exactShare), fmtRecall(s.pass.recall.mean), pct(s.pass.recall.zeroShare), pct(s.pass.shortShare), pct(s.pass.widenedShare), pct(s.pass.uncertifiedShare),
          fmtMs(s.pass.latency.p50), fmtMs(s.pass.latency.p95), fmtMs(s.pass.latency.p99), fmtMs(s.pass.latency.max),
        ]
        : ['not measured: no searchable row has the tag', '', '', '', '', '', '', '', '', '']),
      s.groundTruth ? `${s.groundTruth.cached ? 'cached' : `computed in ${s.groundTruth.seconds} s`}` : '—',
    ]),
  }];
}

/** Which route of the search statement served a filtered pass: exact (selective tag), HNSW, or a mix. */
function routeLabel(exactShare: number): string {
  if (exactShare === 1) return 'exact';
  if (exactShare === 0) return 'HNSW';
  return `exact ${pct(exactShare)}`;
}

export function reportTables(r: BenchmarkReport): ReportTable[] {
  const tables: ReportTable[] = [
    {
      title: 'Verdict',
      header: ['check', 'value', 'threshold', 'status', 'detail'],
      rows: r.checks.map((c) => [c.name, formatCheckValue(c.name, c.value), `${c.comparator} ${formatCheckValue(c.name, c.threshold)}`, c.status.toUpperCase(), c.detail]),
    },
    {
      title: 'Serial latency and recall per ef_search',
      note:
        `${r.dataset.queryCount} held-out queries, one at a time, through the search statement (top ${r.method.k}: ${r.method.firstCandidates} candidates, ` +
        `${r.method.wideCandidates} when the re-rank bound fails; iterative scan ${r.method.iterativeScan}) interleaved with the raw floor statement. ` +
        `recall@${r.method.k} is the index's (raw floor ids against the exact neighbours); re-rank recall is the search path's (its re-ranked top ${r.method.k} ` +
        `against the exact re-ranked top ${r.method.k} over all rows). Latency in ms (recorded in µs, HDR). Plan: ${r.warmup.plan}. ` +
        `Exact answers computed in process over every row and verified on a sample against PostgreSQL's exact scan (${r.groundTruth.planNode}).`,
      header: ['ef_search', 'recall mean', 'recall = 0', 're-rank recall', 'widened', 'uncertified', 'p50', 'p95', 'p99', 'p99.9', 'max', 'raw p50', 'raw p99'],
      rows: r.serial.map((s) => [
        String(s.efSearch) + (s.efSearch === r.method.productionEfSearch ? ' (prod)' : ''),
        fmtRecall(s.recall.mean), pct(s.recall.zeroShare), fmtRecall(s.rerankRecall.mean), pct(s.widenedShare), pct(s.uncertifiedShare),
        fmtMs(s.latency.p50), fmtMs(s.latency.p95), fmtMs(s.latency.p99), fmtMs(s.latency.p999), fmtMs(s.latency.max),
        fmtMs(s.rawLatency.p50), fmtMs(s.rawLatency.p99),
      ]),
    },
    ...filteredTables(r),
    {
      title: `Concurrency sweep at ef_search ${r.method.productionEfSearch}`,
      note:
        `Each level runs ${r.method.concurrencySeconds} s of back-to-back queries on that many connections, in load-generator processes outside the worker. ` +
        'Failed queries are errors, never latencies. A level whose load generator saturated is INVALID: its figures are the harness\'s, not the database\'s. ' +
        `p99 trend: its p99 per ${WINDOW_SECONDS} s window across the run (— with fewer than ${DRIFT_MIN_WINDOWS} windows).`,
      header: ['statement', 'clients', 'QPS', 'p50', 'p99', 'max', 'queries', 'errors', 'p99 trend', 'harness CPU', 'harness'],
      rows: r.concurrency.map((c) => [
        c.statement, String(c.clients), c.qps.toFixed(1), fmtMs(c.latency.p50), fmtMs(c.latency.p99), fmtMs(c.latency.max), String(c.queries), String(c.errors),
        p99Trend(c), pct(c.harness.cpuShare), harnessStatus(c.harness),
      ]),
    },
    {
      title: 'Raw floor: the service against pgvector alone (same data, same run)',
      note: `Raw floor: ${r.rawFloor.statement}, ef_search ${r.rawFloor.efSearch}, k ${r.rawFloor.k}.`,
      header: ['figure', 'search path', 'raw floor', 'ratio', 'target'],
      rows: [
        ['serial p50 (ms)', opt(r.rawFloor.searchP50Ms, fmtMs), opt(r.rawFloor.rawP50Ms, fmtMs), '', ''],
        ['serial p99 (ms)', opt(r.rawFloor.searchP99Ms, fmtMs), opt(r.rawFloor.rawP99Ms, fmtMs), opt(r.rawFloor.serialP99Ratio, fmtRatio), `≤ ${fmtRatio(r.thresholds.maxSerialP99Ratio)}`],
        ...r.rawFloor.qps.map((q) => [
          `QPS at ${q.clients} client${q.clients === 1 ? '' : 's'} (median of ${q.rounds} rounds)`, q.search.toFixed(1), q.raw.toFixed(1), opt(q.ratio, fmtRatio),
          q.clients === 2 ? `≥ ${fmtRatio(r.thresholds.minQpsRatio)}` : '',
        ]),
        ['API ceiling QPS (closed loop)', opt(r.rawFloor.apiCeilingQps, (v) => v.toFixed(1)), '', opt(r.rawFloor.apiCeilingRatio, fmtRatio), `≥ ${fmtRatio(r.thresholds.minApiCeilingRatio)} × raw at 2`],
      ],
    },
  ];
  if (r.indexTypes) tables.push(indexTypeTable(r.indexTypes, r.dataset.queryCount));
  if (r.throughputRounds.length > 0) {
    tables.push({
      title: 'Raw floor throughput rounds',
      note: 'Each round runs the search statement and the raw floor at the same client count back to back, alternating which goes first; ' +
        'the ratio above is the median of the per-round ratios.',
      header: ['clients', 'round', 'first', 'search QPS', 'raw QPS', 'ratio', 'search p99', 'raw p99', 'harness'],
      rows: r.throughputRounds.map((t) => [
        String(t.clients), String(t.round), t.searchFirst ? 'search' : 'raw', t.search.qps.toFixed(1), t.raw.qps.toFixed(1),
        t.raw.qps > 0 ? fmtRatio(t.search.qps / t.raw.qps) : '—', fmtMs(t.search.latency.p99), fmtMs(t.raw.latency.p99),
        t.search.harness.saturated || t.raw.harness.saturated
          ? `INVALID: ${[t.search.harness.reason, t.raw.harness.reason].filter(Boolean).join('; ')}`
          : 'valid',
      ]),
    });
  }
  for (const [title, h] of [['HTTP load (search API, end to end)', r.http], ['HTTP ceiling (closed loop)', r.httpCeiling]] as const) {
    if (!h) continue;
    tables.push({
      title,
      note: `${h.users} users, each with its own API key, for ${h.seconds} s against ${h.baseUrl}, ` +
        (h.ratePerUser ? `open loop at ${h.ratePerUser} requests/s per user (latency from the scheduled send time)` : 'closed loop (one connection per user, back to back)') +
        (h.warmup
          ? `, after an unmeasured ${h.warmup.seconds} s warm-up by ${h.warmup.users} other users at ${h.warmup.ratePerUser} requests/s each (${h.warmup.requests} requests, ${h.warmup.ok} 2xx)`
          : '') +
        `. API quota: ${h.rateLimitPolicy ?? 'none announced'}. Latencies are of 2xx responses only; other statuses and transport errors are counted apart. ` +
        `Load generator: ${h.harness.processes} process(es) outside the worker, CPU ${pct(h.harness.cpuShare)} of a core, ` +
        `event-loop delay p99 ${fmtMs(h.harness.eventLoopDelayP99Ms)} ms${h.harness.scheduleLagP99Ms === null ? '' : `, schedule lag p99 ${fmtMs(h.harness.scheduleLagP99Ms)} ms`}: ${harnessStatus(h.harness)}.`,
      header: ['requests', '2xx', 'non-2xx', 'errors', 'timeouts', 'error rate', 'QPS', 'p50', 'p95', 'p99', 'p99.9', 'max', 'p99 trend', 'status codes'],
      rows: [[
        String(h.requests), String(h.ok), String(h.non2xx), String(h.errors), String(h.timeouts), pct(h.errorRate), h.qps.toFixed(1),
        fmtMs(h.latency.p50), fmtMs(h.latency.p95), fmtMs(h.latency.p99), fmtMs(h.latency.p999), fmtMs(h.latency.max), p99Trend(h),
        Object.entries(h.statusCodes).sort(([a], [b]) => a.localeCompare(b)).map(([code, n]) => `${code}: ${n}`).join(', '),
      ]],
    });
    if (h.stages) {
      tables.push({
        title: `${title}: latency by stage`,
        note: 'From each 2xx response\'s Server-Timing header: auth (API key), limit (token bucket), embed (query embedding), db (the search statement), ' +
          'rerank (rows to hits); server is their sum, outside is the client-measured latency minus it (network, HTTP, queueing before the handler).',
        header: ['stage', 'p50', 'p95', 'p99', 'max', 'mean'],
        rows: Object.entries(h.stages).map(([stage, l]) => [stage, fmtMs(l.p50), fmtMs(l.p95), fmtMs(l.p99), fmtMs(l.max), fmtMs(l.mean)]),
      });
    }
  }
  if (!r.http) tables.push({ title: 'HTTP load (search API, end to end)', header: ['status'], rows: [[`skipped: ${r.httpSkippedReason ?? 'not requested'}`]] });
  if (r.mixed) tables.push(...searchWhileWritingTables(r.mixed, r.http));
  const drifting = phaseSeries(r).filter((p) => p.drift.drifting);
  if (drifting.length > 0) {
    tables.push({
      title: 'Latency drift: p99 rose during the phase',
      note: `Each load phase is also measured per ${WINDOW_SECONDS} s window (timeseries.csv next to this report). A phase drifts when, over at least ` +
        `${DRIFT_MIN_WINDOWS} windows, the p99 of its last windows is at least ${DRIFT_MIN_RATIO} × and ${DRIFT_MIN_RISE_MS} ms above that of its first windows and the p99 trend is upward: ` +
        'requests queued faster than they were served, so the phase\'s overall figures depend on how long it ran.',
      header: ['phase', 'reason'],
      rows: drifting.map((p) => [p.label, p.drift.reason ?? 'p99 rose']),
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
      ['dataset', `${d.traceCount} searchable vectors (${d.capacityRows} from ${d.runKey}), ${d.dimensions} dims, ${d.clusters} clusters, sigma ${d.sigma}, generator seed ${d.generatorSeed}, centres ${d.centres.kind}, model ${d.modelId}`],
      ['load throughput', d.loadRowsPerSecond === null ? 'not measured in this run' : `${d.loadRowsPerSecond} rows/s`],
      ['queries', `${d.queryCount} held-out noisy centre copies, query seed ${d.querySeed}`],
      ['index', i.present ? `${i.name} (${i.indexType ?? 'vector'}): m ${i.m ?? 'default'}, ef_construction ${i.efConstruction ?? 'default'}, ${formatBytes(i.bytes)}${i.fitsInSharedBuffers ? ', fits in shared_buffers' : ', does NOT fit in shared_buffers'}` : 'missing'],
      ['index build', i.buildSeconds === null ? 'not built in this run' : `${i.buildSeconds} s`],
      ['ground truth', `${r.groundTruth.cached ? 'cached' : 'computed'} (${r.groundTruth.seconds} s to compute), compute time per query per lane ${r.groundTruth.exactP50Ms === null ? '—' : `${fmtMs(r.groundTruth.exactP50Ms)} ms`}, key ${r.groundTruth.cacheKey}`],
      ...r.warnings.map((w) => ['warning', w]),
    ],
  });
  return tables;
}
