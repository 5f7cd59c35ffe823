/**
 * A phase's figures per time window (time-series.ts), recorded in each harness child and merged in
 * the parent by window index. Every child of a phase counts windows from the same origin, the run
 * start the parent gave with `go` (JobContext.startedAt), so window i means the same seconds in all.
 *
 * A completion (success or error) falls in the window of its completion time. A run of S seconds has
 * ⌈S / WINDOW_SECONDS⌉ windows; whatever completes after the last window's nominal end (queries in
 * flight when time ran out) goes into the last window, which then reports its true length.
 */
import type { Histogram } from 'hdr-histogram-js';
import { createLatencyHistogram, recordMs, summarizeLatency } from '../stats.js';
import { WINDOW_SECONDS, type TimeWindow } from '../time-series.js';
import { encodeHistogram, mergeHistograms, type EncodedHistogram } from './histograms.js';

/** One child's windows, as sent to the parent: a few KB per window. */
export interface WindowSeries {
  /** The shared run start and this child's end, in epoch ms (performance.timeOrigin-based). */
  startedAt: number;
  endedAt: number;
  /** By window index. */
  windows: { latency: EncodedHistogram; errors: number }[];
}

/** Epoch milliseconds, comparable across processes (as ChildLoad's). */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export function windowCount(seconds: number): number {
  return Math.max(1, Math.ceil(seconds / WINDOW_SECONDS));
}

export class WindowRecorder {
  private readonly latencies: Histogram[];
  private readonly errorCounts: number[];

  /** `startedAt` in epoch ms (JobContext.startedAt); `seconds` the run's planned length. */
  constructor(private readonly startedAt: number, seconds: number) {
    const n = windowCount(seconds);
    this.latencies = Array.from({ length: n }, () => createLatencyHistogram());
    this.errorCounts = Array.from({ length: n }, () => 0);
  }

  /** A success that completes now, after `ms`. */
  success(ms: number): void {
    recordMs(this.latencies[this.indexNow()]!, ms);
  }

  /** A failure that completes now. */
  error(): void {
    this.errorCounts[this.indexNow()]!++;
  }

  snapshot(): WindowSeries {
    return {
      startedAt: this.startedAt,
      endedAt: epochMs(),
      windows: this.latencies.map((h, i) => ({ latency: encodeHistogram(h), errors: this.errorCounts[i]! })),
    };
  }

  private indexNow(): number {
    const i = Math.floor((epochMs() - this.startedAt) / (WINDOW_SECONDS * 1000));
    return Math.min(this.latencies.length - 1, Math.max(0, i));
  }
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * The children's windows merged index by index. The run lasts from the shared start to the last
 * child's end; a window that ends before the run does is WINDOW_SECONDS long, the last one runs to
 * the run's end, and windows that begin after the run ended (a run cut short) are left out unless
 * something completed in them.
 */
export function mergeWindows(series: readonly WindowSeries[]): TimeWindow[] {
  if (series.length === 0) return [];
  const start = Math.min(...series.map((s) => s.startedAt));
  const runSeconds = Math.max(0, (Math.max(...series.map((s) => s.endedAt)) - start) / 1000);
  const n = Math.max(...series.map((s) => s.windows.length));
  const windows: TimeWindow[] = [];
  for (let i = 0; i < n; i++) {
    const parts = series.map((s) => s.windows[i]).filter((w) => w !== undefined);
    const latency = summarizeLatency(mergeHistograms(parts.map((w) => w.latency)));
    const errors = parts.reduce((sum, w) => sum + w.errors, 0);
    const startSeconds = i * WINDOW_SECONDS;
    const last = i === n - 1;
    const seconds = round(Math.max(0, last ? runSeconds - startSeconds : Math.min(WINDOW_SECONDS, runSeconds - startSeconds)), 3);
    if (seconds === 0 && latency.count === 0 && errors === 0) continue;
    windows.push({
      startSeconds,
      seconds,
      count: latency.count,
      errors,
      qps: seconds > 0 ? round(latency.count / seconds, 1) : 0,
      p50: latency.p50,
      p99: latency.p99,
    });
  }
  return windows;
}
