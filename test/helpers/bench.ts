/** Benchmark test helpers: a valid report with plausible figures, and the `bench …` CLI in-process. */
import { randomUUID } from 'node:crypto';
import { Command } from '@commander-js/extra-typings';
import type { Config } from '../../src/config.js';
import { registerBenchmarkCommands } from '../../src/cli/benchmark.js';
import type { BenchmarkReport } from '../../src/report/schema.js';
import { DEFAULT_THRESHOLDS } from '../../src/workflows/benchmark-verdict.js';

/** Runs `bench …` in-process against `config`, capturing what it prints and the exit code it sets. */
export async function runBenchCli(config: Config, args: string[]): Promise<{ out: string; code: number }> {
  const program = new Command().exitOverride();
  registerBenchmarkCommands(program, () => config);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
  const previous = process.exitCode;
  process.exitCode = 0;
  try {
    await program.parseAsync(['node', 'cli', 'bench', ...args]);
    return { out: lines.join('\n'), code: Number(process.exitCode ?? 0) };
  } finally {
    console.log = log;
    process.exitCode = previous;
  }
}

function latency(p50: number, p99: number, count: number) {
  return { count, mean: p50 * 1.1, min: p50 / 2, p50, p95: (p50 + p99) / 2, p99, p999: p99 * 1.3, max: p99 * 1.6 };
}

function cdf(p50: number, p99: number) {
  return [
    { percentile: 0, ms: p50 / 2 },
    { percentile: 50, ms: p50 },
    { percentile: 90, ms: (p50 + p99) / 2 },
    { percentile: 99, ms: p99 },
    { percentile: 100, ms: p99 * 1.6 },
  ];
}

/** A steady phase's 5 s windows: the queries spread evenly, every window at the phase's p50 and p99. */
function steadyWindows(seconds: number, queries: number, p50: number, p99: number) {
  const n = seconds / 5;
  return Array.from({ length: n }, (_, i) => ({ startSeconds: i * 5, seconds: 5, count: queries / n, errors: 0, qps: queries / n / 5, p50, p99 }));
}

const STEADY = { drifting: false, reason: null };

const HARNESS = { processes: 1, cpuShare: 0.2, eventLoopDelayP99Ms: 1.5, scheduleLagP99Ms: null, saturated: false, reason: null };

export function sampleReport(name: string, overrides: Partial<BenchmarkReport> = {}): BenchmarkReport {
  const serial = [
    { efSearch: 40, p50: 6.1, p99: 8.4, recall: 0.93 },
    { efSearch: 64, p50: 7.2, p99: 10.03, recall: 0.972 },
    { efSearch: 100, p50: 8.8, p99: 11.9, recall: 0.991 },
    { efSearch: 200, p50: 12.5, p99: 16.2, recall: 0.998 },
  ];
  return {
    schemaVersion: 2,
    runId: randomUUID(),
    name,
    workflowId: name,
    createdAt: '2026-11-27T03:00:00.000Z',
    verdict: 'pass',
    thresholds: { ...DEFAULT_THRESHOLDS },
    checks: [
      { name: 'SQL p99 (ms) at ef_search=64', value: 10.03, comparator: '<', threshold: 50, status: 'pass', detail: 'serial, warm' },
      { name: 'recall@10 mean at ef_search=64', value: 0.972, comparator: '>=', threshold: 0.95, status: 'pass', detail: '1.2% of queries at recall 0' },
      { name: 'HTTP p99 (ms)', value: 24.5, comparator: '<', threshold: 50, status: 'pass', detail: '2xx responses only' },
      { name: 're-rank recall mean', value: 0.995, comparator: '>=', threshold: 0.99, status: 'pass', detail: 'bound not certified on 0.0% of searches' },
      { name: 'error rate', value: 0, comparator: '<=', threshold: 0, status: 'pass', detail: '0 SQL errors, 0 non-2xx or failed HTTP requests, of 9000' },
    ],
    environment: {
      postgres: '15.8', pgvector: '0.8.0', cpuModel: 'Test CPU', cpuCores: 2, ramBytes: 8 * 1024 ** 3, node: 'v20.19.0', platform: 'linux 6.1 x64',
      sharedBuffersBytes: 2 * 1024 ** 3, maintenanceWorkMemBytes: 2 * 1024 ** 3, effectiveCacheSizeBytes: 4 * 1024 ** 3,
      maxWorkerProcesses: 8, maxParallelWorkers: 8, maxParallelWorkersPerGather: 2, maxParallelMaintenanceWorkers: 2,
    },
    dataset: {
      runKey: 'capacity-100000x1536-b1000-c1000-s42-n0.05-random-trust10', traceCount: 100_000, capacityRows: 100_000, dimensions: 1536, clusters: 1000, sigma: 0.05,
      generatorSeed: 42, centres: { kind: 'random' }, modelId: 'local-hash-1536-v1', queryCount: 1000, querySeed: 7, loadRowsPerSecond: 4200,
    },
    index: { name: 'ix_traces_embedding_hnsw', present: true, valid: true, bytes: 820 * 1024 ** 2, m: 16, efConstruction: 64, fitsInSharedBuffers: true, buildSeconds: 310 },
    groundTruth: { cacheKey: 'k', cached: true, k: 10, planNode: 'Limit > Sort > Seq Scan on traces', seconds: 512, exactP50Ms: 498 },
    method: {
      k: 10, firstCandidates: 20, wideCandidates: 100, productionEfSearch: 64, iterativeScan: 'relaxed_order', exactFilterMaxRows: 5000, latencyUnit: 'microseconds', warmupQueries: 1000, concurrencySeconds: 10,
    },
    warmup: {
      queries: 1000, prewarmed: true, prewarmNote: 'pg_prewarm loaded 104960 index blocks', plan: 'Limit > Index Scan on traces (ix_traces_embedding_hnsw)',
      usesIndex: true, efSearch: 64, latency: latency(7.9, 12.4, 1000),
    },
    serial: serial.map((s) => ({
      efSearch: s.efSearch,
      latency: latency(s.p50, s.p99, 1000),
      cdf: cdf(s.p50, s.p99),
      rawLatency: latency(s.p50 * 0.9, s.p99 * 0.85, 1000),
      recall: { queries: 1000, mean: s.recall, p5: s.recall > 0.95 ? 0.9 : 0, min: 0, zeroShare: 0.012 },
      rerankRecall: { queries: 1000, mean: Math.min(1, s.recall + 0.02), p5: 0.9, min: 0, zeroShare: 0.005 },
      widenedShare: 0.01,
      uncertifiedShare: 0,
    })),
    concurrency: [1, 2, 4, 8].map((clients) => ({
      statement: 'search' as const, harness: HARNESS, clients, efSearch: 64, seconds: 10, queries: 1400 * Math.min(clients, 2) * 10, errors: 0, errorRate: 0,
      qps: 140 * Math.min(clients, 2.6), latency: latency(7 * Math.max(1, clients / 2), 10 * Math.max(1, clients / 2), 1400 * clients * 10),
      windows: steadyWindows(10, 1400 * Math.min(clients, 2) * 10, 7 * Math.max(1, clients / 2), 10 * Math.max(1, clients / 2)), drift: STEADY,
    })),
    http: {
      baseUrl: 'http://127.0.0.1:8787', mode: 'closed-loop', users: 10, seconds: 30, ratePerUser: null, rateLimitPolicy: '"read";q=60;w=60',
      requests: 9000, ok: 9000, non2xx: 0, errors: 0, timeouts: 0, errorRate: 0, qps: 300, latency: latency(15, 24.5, 9000), statusCodes: { '200': 9000 },
      stages: { db: latency(5, 11, 9000), server: latency(6, 13, 9000), outside: latency(8, 12, 9000) }, harness: { ...HARNESS, scheduleLagP99Ms: null },
      windows: steadyWindows(30, 9000, 15, 24.5), drift: STEADY, warmup: { users: 10, seconds: 5, ratePerUser: 3, requests: 150, ok: 150 },
    },
    httpSkippedReason: null,
    httpCeiling: null,
    throughputRounds: [1, 2].map((clients) => ({
      clients, round: 1, searchFirst: true,
      search: {
        statement: 'search' as const, harness: HARNESS, clients, efSearch: 64, seconds: 5, queries: 700 * clients, errors: 0, errorRate: 0, qps: 140 * clients,
        latency: latency(7, 10, 700 * clients), windows: steadyWindows(5, 700 * clients, 7, 10), drift: STEADY,
      },
      raw: {
        statement: 'raw' as const, harness: HARNESS, clients, efSearch: 64, seconds: 5, queries: 750 * clients, errors: 0, errorRate: 0, qps: 150 * clients + 10 * (clients - 1),
        latency: latency(6.5, 8.5, 750 * clients), windows: steadyWindows(5, 750 * clients, 6.5, 8.5), drift: STEADY,
      },
    })),
    rawFloor: {
      statement: 'SELECT id FROM traces ORDER BY embedding <=> $1 LIMIT k', efSearch: 64, k: 10, searchP50Ms: 7.2, searchP99Ms: 10.03, rawP50Ms: 6.5, rawP99Ms: 8.5,
      serialP99Ratio: 1.18, qps: [{ clients: 1, rounds: 1, search: 140, raw: 150, ratio: 0.933 }, { clients: 2, rounds: 1, search: 280, raw: 310, ratio: 0.903 }], qpsRatio: 0.903, apiCeilingQps: null, apiCeilingRatio: null,
    },
    warnings: [],
    ...overrides,
  };
}

/** The same report with the production p99 scaled and its recall shifted: a constructed regression. */
export function regressed(report: BenchmarkReport, name: string, p99Factor: number, recallDelta: number): BenchmarkReport {
  return {
    ...report,
    runId: randomUUID(),
    name,
    workflowId: name,
    serial: report.serial.map((s) =>
      s.efSearch === report.method.productionEfSearch
        ? { ...s, latency: { ...s.latency, p99: s.latency.p99 * p99Factor }, recall: { ...s.recall, mean: s.recall.mean + recallDelta } }
        : s,
    ),
  };
}
