/**
 * A load phase over time: its figures per fixed window of the measured run (like Locust's stats
 * history), and whether its p99 drifted upward across the run — the sign of a queue that grows,
 * which a whole-phase p99 averages away. harness/windows.ts records and merges the windows.
 */
import { fitLine } from './least-squares.js';

/** The length of one window in seconds; the last window of a run may be shorter or longer (see harness/windows.ts). */
export const WINDOW_SECONDS = 5;

/** One window of a phase, over every process of the phase. */
export interface TimeWindow {
  /** Seconds from the phase's start to the window's start. */
  startSeconds: number;
  /** The window's true length: WINDOW_SECONDS except for the last one. */
  seconds: number;
  /** Successful queries (2xx responses for HTTP) that completed in the window. */
  count: number;
  /** Failed queries; for HTTP non-2xx responses plus transport errors. */
  errors: number;
  /** count / seconds. */
  qps: number;
  /** Latency percentiles of the window's successful completions, in ms (0 when count is 0). */
  p50: number;
  p99: number;
}

export interface Drift {
  drifting: boolean;
  /** What rose, from what to what; null when not drifting. */
  reason: string | null;
}

/** Fewer non-empty windows than this never count as drifting: too few points to tell a trend from noise. */
export const DRIFT_MIN_WINDOWS = 3;
/** The recent p99 must be at least this multiple of the early p99 … */
export const DRIFT_MIN_RATIO = 1.5;
/** … and at least this many ms above it, so a sub-millisecond statement's jitter is not a drift. */
export const DRIFT_MIN_RISE_MS = 5;

/** The lower middle value: of two values the smaller, so one outlier among two cannot move it. */
function lowerMedian(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

const fmt = (v: number) => v.toFixed(2);

/**
 * Whether a phase's p99 rose across its run. Over the windows that completed anything (an empty
 * window has no p99), in time order, n of them:
 * - at least DRIFT_MIN_WINDOWS (3);
 * - early = lower median p99 of the first max(1, ⌊n/3⌋) windows, recent = lower median p99 of the
 *   last max(2, ⌊n/3⌋) windows (at least two, so a single slow last window — a spike — is not a rise);
 * - drifting when recent ≥ 1.5 × early, recent − early ≥ 5 ms, and the least-squares slope of p99
 *   over window start across all n windows is positive (a slow start that settles is not a drift).
 */
export function detectDrift(windows: readonly TimeWindow[]): Drift {
  const points = windows.filter((w) => w.count > 0);
  const n = points.length;
  if (n < DRIFT_MIN_WINDOWS) return { drifting: false, reason: null };
  const third = Math.floor(n / 3);
  const head = points.slice(0, Math.max(1, third));
  const tail = points.slice(n - Math.max(2, third));
  const early = lowerMedian(head.map((w) => w.p99));
  const recent = lowerMedian(tail.map((w) => w.p99));
  const rate = fitLine(points.map((w) => ({ x: w.startSeconds, y: w.p99 })))?.slope ?? 0;
  if (!(recent >= DRIFT_MIN_RATIO * early && recent - early >= DRIFT_MIN_RISE_MS && rate > 0)) return { drifting: false, reason: null };
  const windowsOf = (k: number) => `${k} window${k === 1 ? '' : 's'}`;
  return {
    drifting: true,
    reason:
      `p99 rose from ${fmt(early)} ms (first ${windowsOf(head.length)}) to ${fmt(recent)} ms (last ${windowsOf(tail.length)}), ` +
      `${fmt(rate)} ms per second over ${n} windows of ${WINDOW_SECONDS} s: the queue grew during the phase`,
  };
}
