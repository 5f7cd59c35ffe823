import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_THRESHOLDS, judgeBenchmark, type VerdictFigures } from '../../src/workflows/benchmark-verdict.js';

const figures: VerdictFigures = {
  productionEfSearch: 64,
  serial: [
    { efSearch: 40, latency: { p99: 8.1 }, recall: { mean: 0.93, zeroShare: 0.05 } },
    { efSearch: 64, latency: { p99: 10.0 }, recall: { mean: 0.972, zeroShare: 0.02 } },
  ],
  concurrency: [{ queries: 4000, errors: 0 }, { queries: 7000, errors: 0 }],
  http: { requests: 3000, non2xx: 0, errors: 0, latency: { p99: 21.5, count: 3000 } },
};

const statuses = (r: ReturnType<typeof judgeBenchmark>) => r.checks.map((c) => c.status);

test('the reference figures pass the default thresholds', () => {
  const r = judgeBenchmark(DEFAULT_THRESHOLDS, figures);
  assert.equal(r.verdict, 'pass');
  assert.deepEqual(statuses(r), ['pass', 'pass', 'pass', 'pass']);
  assert.equal(r.checks[0]!.value, 10.0, 'judged at the production ef_search, not the fastest one');
  assert.equal(r.checks[1]!.value, 0.972);
});

test('an impossible p99 threshold fails; a generous one passes', () => {
  const impossible = judgeBenchmark({ ...DEFAULT_THRESHOLDS, sqlP99Ms: 0.001, httpP99Ms: 0.001 }, figures);
  assert.equal(impossible.verdict, 'fail');
  assert.deepEqual(statuses(impossible), ['fail', 'pass', 'fail', 'pass']);
  const generous = judgeBenchmark({ sqlP99Ms: 1e6, recallMean: 0, httpP99Ms: 1e6, errorRate: 1 }, figures);
  assert.equal(generous.verdict, 'pass');
});

test('recall below the mean threshold fails, and the detail gives the share of zero-recall queries', () => {
  const r = judgeBenchmark({ ...DEFAULT_THRESHOLDS, recallMean: 0.98 }, figures);
  assert.equal(r.verdict, 'fail');
  assert.equal(r.checks[1]!.status, 'fail');
  assert.match(r.checks[1]!.detail, /2\.0% of queries at recall 0/);
});

test('any SQL error or non-2xx response fails error rate = 0', () => {
  const sqlError = judgeBenchmark(DEFAULT_THRESHOLDS, { ...figures, concurrency: [{ queries: 999, errors: 1 }] });
  assert.equal(sqlError.checks[3]!.status, 'fail');
  assert.equal(sqlError.checks[3]!.value, 1 / (1000 + 3000));
  const limited = judgeBenchmark(DEFAULT_THRESHOLDS, { ...figures, http: { ...figures.http!, non2xx: 12 } });
  assert.equal(limited.verdict, 'fail');
  assert.match(limited.checks[3]!.detail, /12 non-2xx/);
  const tolerated = judgeBenchmark({ ...DEFAULT_THRESHOLDS, errorRate: 0.01 }, { ...figures, http: { ...figures.http!, non2xx: 12 } });
  assert.equal(tolerated.verdict, 'pass');
});

test('a skipped HTTP phase is reported as skipped and does not fail the verdict', () => {
  const r = judgeBenchmark(DEFAULT_THRESHOLDS, { ...figures, http: null });
  assert.equal(r.verdict, 'pass');
  assert.equal(r.checks[2]!.status, 'skipped');
  assert.equal(r.checks[2]!.value, null);
});

test('an HTTP phase without a single 2xx fails, and an unmeasured production ef_search fails', () => {
  const noOk = judgeBenchmark(DEFAULT_THRESHOLDS, { ...figures, http: { requests: 50, non2xx: 50, errors: 0, latency: { p99: 0, count: 0 } } });
  assert.equal(noOk.checks[2]!.status, 'fail');
  const missing = judgeBenchmark(DEFAULT_THRESHOLDS, { ...figures, productionEfSearch: 100 });
  assert.equal(missing.verdict, 'fail');
  assert.deepEqual(statuses(missing).slice(0, 2), ['fail', 'fail']);
});
