import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectDrift, WINDOW_SECONDS, type TimeWindow } from '../../../src/benchmark/time-series.js';
import { epochMs, mergeWindows, WindowRecorder, type WindowSeries } from '../../../src/benchmark/harness/windows.js';
import { encodeHistogram, type EncodedHistogram } from '../../../src/benchmark/harness/histograms.js';
import { createLatencyHistogram, recordMs } from '../../../src/benchmark/stats.js';

/** Windows of 5 s with 100 completions each, one per p99 value (0 = an empty window). */
const series = (p99s: number[]): TimeWindow[] =>
  p99s.map((p99, i) => ({ startSeconds: i * 5, seconds: 5, count: p99 === 0 ? 0 : 100, errors: 0, qps: p99 === 0 ? 0 : 20, p50: p99 / 2, p99 }));

const steady = { drifting: false, reason: null };

test('window size: one constant, 5 s', () => {
  assert.equal(WINDOW_SECONDS, 5);
});

test('drift: a flat or noisy-flat p99 is steady', () => {
  assert.deepEqual(detectDrift(series([10, 10, 10, 10, 10, 10])), steady);
  assert.deepEqual(detectDrift(series([10, 12, 9, 11, 10, 12, 9, 11])), steady);
  // Noisy with a slight upward tilt, well under 1.5×.
  assert.deepEqual(detectDrift(series([10, 11, 10, 12, 11, 13])), steady);
});

test('drift: a p99 that keeps rising is flagged, with the figures in the reason', () => {
  const d = detectDrift(series([10, 14, 20, 28, 40, 55]));
  assert.equal(d.drifting, true);
  // early: lower median of the first 2 windows (10, 14); recent: of the last 2 (40, 55);
  // least-squares slope: Σ(x − 12.5)·y / Σ(x − 12.5)² = 777.5 / 437.5 = 1.78 ms per second.
  assert.equal(d.reason, 'p99 rose from 10.00 ms (first 2 windows) to 40.00 ms (last 2 windows), 1.78 ms per second over 6 windows of 5 s: the queue grew during the phase');
  // The shortest series that can drift: three windows, the last two both up.
  assert.equal(detectDrift(series([10, 20, 30])).drifting, true);
  assert.match(detectDrift(series([10, 20, 30])).reason!, /^p99 rose from 10\.00 ms \(first 1 window\) to 20\.00 ms \(last 2 windows\)/);
});

test('drift: one spike, in the middle or in the last window, is not a drift', () => {
  assert.deepEqual(detectDrift(series([10, 10, 60, 10, 10, 10])), steady);
  assert.deepEqual(detectDrift(series([10, 10, 10, 10, 10, 60])), steady);
  assert.deepEqual(detectDrift(series([10, 10, 60])), steady);
});

test('drift: too few windows never drift, and empty windows do not count', () => {
  assert.deepEqual(detectDrift([]), steady);
  assert.deepEqual(detectDrift(series([10])), steady);
  assert.deepEqual(detectDrift(series([10, 40])), steady);
  // Three windows, one empty: two points.
  assert.deepEqual(detectDrift(series([10, 0, 40])), steady);
  // An empty window among rising ones is skipped, not read as a p99 of 0.
  assert.equal(detectDrift(series([10, 0, 20, 30])).drifting, true);
});

test('drift: a rise that is large in ratio but small in ms is not flagged', () => {
  // 1 ms → 3 ms: three times higher, only 2 ms more.
  assert.deepEqual(detectDrift(series([1, 1.2, 1.6, 2, 2.5, 3])), steady);
  // 20 ms → 27 ms: 7 ms more, but under 1.5×.
  assert.deepEqual(detectDrift(series([20, 20, 22, 24, 27, 27])), steady);
});

test('drift: a slow start that settles is not a drift, though its tail is above its first window', () => {
  // early (lower median of 10, 100) is 10 and recent 16 passes both thresholds, but the trend is downward.
  assert.deepEqual(detectDrift(series([10, 100, 100, 16, 16, 16])), steady);
});

const hist = (...ms: number[]): EncodedHistogram => {
  const h = createLatencyHistogram();
  for (const v of ms) recordMs(h, v);
  return encodeHistogram(h);
};

const T0 = 1_700_000_000_000;

test('mergeWindows: the children’s windows add up index by index; the last window runs to the last child’s end', () => {
  // A 12 s run: windows [0, 5), [5, 10) and [10, 12.3]; the second child ends first.
  const a: WindowSeries = {
    startedAt: T0,
    endedAt: T0 + 12_300,
    windows: [{ latency: hist(0.5, 1, 1.5, 2), errors: 1 }, { latency: hist(0.8), errors: 0 }, { latency: null, errors: 0 }],
  };
  const b: WindowSeries = {
    startedAt: T0,
    endedAt: T0 + 12_050,
    windows: [{ latency: hist(0.25), errors: 0 }, { latency: null, errors: 2 }, { latency: hist(1.2, 1.2), errors: 0 }],
  };
  assert.deepEqual(mergeWindows([a, b]), [
    { startSeconds: 0, seconds: 5, count: 5, errors: 1, qps: 1, p50: 1, p99: 2 },
    { startSeconds: 5, seconds: 5, count: 1, errors: 2, qps: 0.2, p50: 0.8, p99: 0.8 },
    { startSeconds: 10, seconds: 2.3, count: 2, errors: 0, qps: 0.9, p50: 1.2, p99: 1.2 },
  ]);
});

test('mergeWindows: a run cut short keeps only the windows it reached; no children, no windows', () => {
  // Planned for 15 s (three windows), ended after 6 s with nothing in the third.
  const cut: WindowSeries = {
    startedAt: T0,
    endedAt: T0 + 6_000,
    windows: [{ latency: hist(1), errors: 0 }, { latency: hist(2), errors: 0 }, { latency: null, errors: 0 }],
  };
  assert.deepEqual(mergeWindows([cut]), [
    { startSeconds: 0, seconds: 5, count: 1, errors: 0, qps: 0.2, p50: 1, p99: 1 },
    { startSeconds: 5, seconds: 1, count: 1, errors: 0, qps: 1, p50: 2, p99: 2 },
  ]);
  assert.deepEqual(mergeWindows([]), []);
});

test('WindowRecorder: a completion lands in the window of its completion time; late ones in the last window', () => {
  // The run started 7 s ago: now is in window 1 of a 15 s run (three windows).
  const recorder = new WindowRecorder(epochMs() - 7_000, 15);
  recorder.success(1);
  recorder.error();
  const s = recorder.snapshot();
  assert.deepEqual(s.windows.map((w) => [w.latency === null ? 0 : 1, w.errors]), [[0, 0], [1, 1], [0, 0]]);

  // Started a minute ago, planned for 10 s: completions after the planned end go into the last window.
  const late = new WindowRecorder(epochMs() - 60_000, 10);
  late.success(1);
  assert.deepEqual(late.snapshot().windows.map((w) => w.latency === null), [true, false]);
});
