import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_THRESHOLDS, judgeBenchmark, summarizeRawFloor, type VerdictFigures } from '../../../src/workflows/benchmark-verdict.js';

const HARNESS_OK: { saturated: boolean; reason: string | null } = { saturated: false, reason: null };
const serial = [
  { efSearch: 40, latency: { p50: 3.9, p99: 8.1 }, rawLatency: { p50: 3.5, p99: 7.0 }, recall: { mean: 0.93, zeroShare: 0.05 }, rerankRecall: { mean: 0.92, zeroShare: 0.05 }, uncertifiedShare: 0 },
  { efSearch: 64, latency: { p50: 4.4, p99: 10.0 }, rawLatency: { p50: 4.0, p99: 8.0 }, recall: { mean: 0.972, zeroShare: 0.02 }, rerankRecall: { mean: 0.995, zeroShare: 0 }, uncertifiedShare: 0.001 },
];
const phase = (statement: 'search' | 'raw', clients: number, qps: number, harness = HARNESS_OK) =>
  ({ statement, clients, queries: qps * 5, errors: 0, qps, harness });
const concurrency = [phase('search', 1, 250), phase('search', 2, 450), phase('search', 4, 480)];
/** Three rounds at 2 clients with per-round ratios 0.9, 0.8 and 0.95 (median 0.9), one at 1 client. */
const rounds = [
  { clients: 1, round: 1, searchFirst: true, search: phase('search', 1, 250), raw: phase('raw', 1, 280) },
  { clients: 2, round: 1, searchFirst: true, search: phase('search', 2, 450), raw: phase('raw', 2, 500) },
  { clients: 2, round: 2, searchFirst: false, search: phase('search', 2, 400), raw: phase('raw', 2, 500) },
  { clients: 2, round: 3, searchFirst: true, search: phase('search', 2, 475), raw: phase('raw', 2, 500) },
];
const http = { requests: 1200, non2xx: 0, errors: 0, qps: 60, latency: { p99: 12.5, count: 1200 }, harness: HARNESS_OK };
const ceiling = { requests: 3000, non2xx: 0, errors: 0, qps: 300, latency: { p99: 9, count: 3000 }, harness: HARNESS_OK };
const filtered = {
  selectivities: [
    { tag: 'capacity-10pct', share: 0.1003, pass: { recall: { mean: 0.97 } } },
    { tag: 'capacity-1pct', share: 0.0098, pass: { recall: { mean: 0.93 } } },
  ],
};
const FILTERED = 'filtered recall@10 mean (lowest selectivity)';

function figuresWith(over: Partial<Omit<VerdictFigures, 'rawFloor'>> = {}): VerdictFigures {
  const base = { productionEfSearch: 64, serial, concurrency, throughputRounds: rounds, http, httpCeiling: ceiling, filtered, ...over };
  return {
    ...base,
    rawFloor: summarizeRawFloor({ productionEfSearch: base.productionEfSearch, k: 10, serial: base.serial, throughputRounds: base.throughputRounds, httpCeiling: base.httpCeiling }),
  };
}

const statuses = (r: ReturnType<typeof judgeBenchmark>) => Object.fromEntries(r.checks.map((c) => [c.name, c.status]));
const value = (r: ReturnType<typeof judgeBenchmark>, name: string) => r.checks.find((c) => c.name === name)!.value;

test('the raw floor summary divides the service by pgvector alone: medians over alternating rounds', () => {
  const f = figuresWith().rawFloor;
  assert.equal(f.serialP99Ratio, 1.25);
  assert.equal(f.qpsRatio, 0.9);
  assert.equal(f.apiCeilingRatio, 0.6, 'the ceiling against the median raw QPS at 2 clients (500)');
  assert.deepEqual(f.qps, [
    { clients: 1, rounds: 1, search: 250, raw: 280, ratio: 0.893 },
    { clients: 2, rounds: 3, search: 450, raw: 500, ratio: 0.9 },
  ]);
  const noRaw = summarizeRawFloor({ productionEfSearch: 64, k: 10, serial, throughputRounds: [], httpCeiling: null });
  assert.equal(noRaw.qpsRatio, null);
  assert.equal(noRaw.apiCeilingRatio, null);
});

test('the reference figures pass the default thresholds, judged at the production ef_search', () => {
  const r = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith());
  assert.equal(r.verdict, 'pass', JSON.stringify(r.checks));
  assert.ok(Object.values(statuses(r)).every((s) => s === 'pass'));
  assert.equal(value(r, 'SQL p99 (ms) at ef_search=64'), 10.0);
  assert.equal(value(r, 'recall@10 mean at ef_search=64'), 0.972);
  assert.equal(value(r, 're-rank recall mean'), 0.995);
  assert.equal(value(r, FILTERED), 0.93, 'the rarer tag decides');
});

test('filtered recall: the lowest selectivity below 0.9 fails, a tag not measured fails, a phase not run is skipped', () => {
  const low = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({
    filtered: { selectivities: [filtered.selectivities[0]!, { ...filtered.selectivities[1]!, pass: { recall: { mean: 0.88 } } }] },
  }));
  assert.equal(statuses(low)[FILTERED], 'fail');
  assert.equal(value(low, FILTERED), 0.88);
  assert.match(low.checks.find((c) => c.name === FILTERED)!.detail, /capacity-10pct \(10\.03% of rows\): 0\.970; capacity-1pct \(0\.98% of rows\): 0\.880/);
  assert.equal(low.verdict, 'fail');
  const lenient = judgeBenchmark({ ...DEFAULT_THRESHOLDS, filteredRecallMean: 0.85 }, figuresWith({
    filtered: { selectivities: [{ ...filtered.selectivities[1]!, pass: { recall: { mean: 0.88 } } }] },
  }));
  assert.equal(statuses(lenient)[FILTERED], 'pass');
  const unmeasured = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ filtered: { selectivities: [filtered.selectivities[0]!, { ...filtered.selectivities[1]!, pass: null }] } }));
  assert.equal(statuses(unmeasured)[FILTERED], 'fail');
  assert.equal(value(unmeasured, FILTERED), null);
  const notRun = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ filtered: null }));
  assert.equal(statuses(notRun)[FILTERED], 'skipped');
  assert.equal(notRun.verdict, 'pass');
});

test('each ratio target fails on its own when the service falls too far behind the raw floor', () => {
  const slowSerial = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ serial: serial.map((s) => ({ ...s, latency: { p50: 5, p99: 11 } })) }));
  assert.equal(statuses(slowSerial)['search / raw serial p99 ratio'], 'fail');
  assert.equal(value(slowSerial, 'search / raw serial p99 ratio'), 1.375);
  const slowConcurrent = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ throughputRounds: rounds.map((r) => ({ ...r, search: { ...r.search, qps: 350 } })) }));
  assert.equal(statuses(slowConcurrent)['search / raw QPS at 2 clients'], 'fail');
  const slowApi = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ httpCeiling: { ...ceiling, qps: 200 } }));
  assert.equal(statuses(slowApi)['API ceiling / raw QPS at 2'], 'fail');
  for (const r of [slowSerial, slowConcurrent, slowApi]) assert.equal(r.verdict, 'fail');
});

test('an unmeasured ceiling or raw floor is skipped, not failed', () => {
  const r = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ httpCeiling: null, throughputRounds: [] }));
  assert.equal(statuses(r)['API ceiling / raw QPS at 2'], 'skipped');
  assert.equal(statuses(r)['search / raw QPS at 2 clients'], 'skipped');
  assert.equal(r.verdict, 'pass');
});

test('re-rank recall below 0.99 fails, with the uncertified share in the detail', () => {
  const r = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ serial: serial.map((s) => ({ ...s, rerankRecall: { mean: 0.985, zeroShare: 0 } })) }));
  assert.equal(statuses(r)['re-rank recall mean'], 'fail');
  assert.match(r.checks.find((c) => c.name === 're-rank recall mean')!.detail, /0\.1% of searches/);
});

test('a saturated load generator invalidates the run and names the phase', () => {
  const saturated = { saturated: true, reason: 'cpuShare 0.95 ≥ 0.9' };
  const r = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ http: { ...http, harness: saturated } }));
  assert.equal(r.verdict, 'fail');
  const c = r.checks.find((x) => x.name === 'saturated harness phases')!;
  assert.equal(c.value, 1);
  assert.match(c.detail, /HTTP load \(cpuShare 0\.95/);
});

test('any SQL error or non-2xx response fails error rate = 0', () => {
  const sqlError = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ concurrency: [{ ...concurrency[0]!, queries: 999, errors: 1 }], throughputRounds: [] }));
  assert.equal(statuses(sqlError)['error rate'], 'fail');
  assert.equal(value(sqlError, 'error rate'), 1 / (1000 + 1200 + 3000));
  const limited = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ http: { ...http, non2xx: 12 } }));
  assert.equal(limited.verdict, 'fail');
  assert.match(limited.checks.find((c) => c.name === 'error rate')!.detail, /12 non-2xx/);
  const tolerated = judgeBenchmark({ ...DEFAULT_THRESHOLDS, errorRate: 0.01 }, figuresWith({ http: { ...http, non2xx: 12 } }));
  assert.equal(tolerated.verdict, 'pass');
});

test('a skipped HTTP phase is skipped; one without a single 2xx fails; an unmeasured production ef_search fails', () => {
  const skipped = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ http: null, httpCeiling: null }));
  assert.equal(statuses(skipped)['HTTP p99 (ms)'], 'skipped');
  assert.equal(skipped.verdict, 'pass');
  const noOk = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ http: { ...http, requests: 50, non2xx: 50, latency: { p99: 0, count: 0 } } }));
  assert.equal(statuses(noOk)['HTTP p99 (ms)'], 'fail');
  const missing = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ productionEfSearch: 100 }));
  assert.equal(missing.verdict, 'fail');
  assert.deepEqual(missing.checks.slice(0, 3).map((c) => c.status), ['fail', 'fail', 'fail']);
});

test('a saturated generator at a level no check uses is reported, not judged', () => {
  const saturated = { saturated: true, reason: 'harness event-loop delay p99 24.6 ms (limit 20 ms)' };
  const r = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ concurrency: [...concurrency, phase('search', 8, 500, saturated)] }));
  assert.equal(r.verdict, 'pass');
  assert.equal(value(r, 'saturated harness phases'), 0);
  const at2 = judgeBenchmark(DEFAULT_THRESHOLDS, figuresWith({ throughputRounds: rounds.map((x) => (x.round === 2 ? { ...x, raw: phase('raw', 2, 500, saturated) } : x)) }));
  assert.equal(at2.verdict, 'fail');
  assert.match(at2.checks.find((c) => c.name === 'saturated harness phases')!.detail, /raw floor at 2 clients, round 2/);
});
