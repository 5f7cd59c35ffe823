/**
 * What an HTTP load loop counts, in the child that runs it, and the merge of several children's
 * counts in the parent. 2xx latencies go into one HDR histogram; other statuses and transport errors
 * are counted apart and never become latencies. A 2xx response that carries Server-Timing also adds
 * each stage's duration to that stage's histogram, plus `server` (the stages' sum) and `outside`
 * (the client's latency minus that sum: network, HTTP parsing, queueing in Node and Fastify, and in
 * the open loop any lateness of the harness against its schedule, reported on its own as well).
 * With a WindowRecorder, every response and transport error also lands in its time window
 * (windows.ts): 2xx latencies as the window's latencies, the rest as the window's errors.
 */
import type { Histogram } from 'hdr-histogram-js';
import { createLatencyHistogram, recordMs } from '../stats.js';
import { encodeHistogram, mergeHistograms, mergeNamedHistograms, type EncodedHistogram } from './histograms.js';
import { parseServerTiming } from './server-timing.js';
import { mergeWindows, type WindowRecorder, type WindowSeries } from './windows.js';
import type { TimeWindow } from '../time-series.js';

export const SERVER_STAGE = 'server';
export const OUTSIDE_STAGE = 'outside';
/** Stage names the tally derives; an API metric of the same name is ignored rather than mixed in. */
const DERIVED = new Set([SERVER_STAGE, OUTSIDE_STAGE]);

export interface HttpTallySnapshot {
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latency: EncodedHistogram;
  stages: Record<string, EncodedHistogram>;
  scheduleLag: EncodedHistogram;
  /** null when the tally kept no windows. */
  windows: WindowSeries | null;
}

export class HttpTally {
  readonly latency = createLatencyHistogram();
  readonly stages = new Map<string, Histogram>();
  /** Open loop only: actual minus scheduled send time of every request. */
  readonly scheduleLag: Histogram | null;
  readonly statusCodes: Record<string, number> = {};
  ok = 0;
  non2xx = 0;
  errors = 0;
  timeouts = 0;

  private readonly windows: WindowRecorder | null;

  constructor(options: { scheduled: boolean; windows?: WindowRecorder }) {
    this.scheduleLag = options.scheduled ? createLatencyHistogram() : null;
    this.windows = options.windows ?? null;
  }

  /** An HTTP response after `ms`, with its Server-Timing header value(s) if it had any. */
  response(status: number, ms: number, serverTiming?: string | readonly string[] | null): void {
    this.statusCodes[status] = (this.statusCodes[status] ?? 0) + 1;
    if (status < 200 || status >= 300) {
      this.non2xx++;
      this.windows?.error();
      return;
    }
    this.ok++;
    recordMs(this.latency, ms);
    this.windows?.success(ms);
    const timing = parseServerTiming(serverTiming);
    let server = 0;
    let stages = 0;
    for (const [name, dur] of timing) {
      if (DERIVED.has(name)) continue;
      recordMs(this.stage(name), dur);
      server += dur;
      stages++;
    }
    if (stages === 0) return;
    recordMs(this.stage(SERVER_STAGE), server);
    recordMs(this.stage(OUTSIDE_STAGE), Math.max(0, ms - server));
  }

  /** No HTTP response at all (refused, reset, timed out). */
  transportError(timedOut: boolean): void {
    this.errors++;
    if (timedOut) this.timeouts++;
    this.windows?.error();
  }

  lag(ms: number): void {
    if (this.scheduleLag) recordMs(this.scheduleLag, Math.max(0, ms));
  }

  get responses(): number {
    return this.ok + this.non2xx;
  }

  snapshot(): HttpTallySnapshot {
    return {
      ok: this.ok,
      non2xx: this.non2xx,
      errors: this.errors,
      timeouts: this.timeouts,
      statusCodes: { ...this.statusCodes },
      latency: encodeHistogram(this.latency),
      stages: Object.fromEntries([...this.stages].map(([name, h]) => [name, encodeHistogram(h)])),
      scheduleLag: this.scheduleLag ? encodeHistogram(this.scheduleLag) : null,
      windows: this.windows?.snapshot() ?? null,
    };
  }

  private stage(name: string): Histogram {
    let h = this.stages.get(name);
    if (!h) this.stages.set(name, (h = createLatencyHistogram()));
    return h;
  }
}

export interface MergedTally {
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latency: Histogram;
  /** The API's stages in first-seen order, then `server` and `outside`; empty without Server-Timing. */
  stages: Map<string, Histogram>;
  scheduleLag: Histogram;
  /** The children's windows merged; empty when none kept any. */
  windows: TimeWindow[];
}

export function mergeTallies(snapshots: readonly HttpTallySnapshot[]): MergedTally {
  const sum = (f: (s: HttpTallySnapshot) => number) => snapshots.reduce((n, s) => n + f(s), 0);
  const statusCodes: Record<string, number> = {};
  for (const s of snapshots) for (const [code, n] of Object.entries(s.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const named = mergeNamedHistograms(snapshots.map((s) => s.stages));
  const ordered = [...[...named.keys()].filter((n) => !DERIVED.has(n)), ...[SERVER_STAGE, OUTSIDE_STAGE].filter((n) => named.has(n))];
  return {
    ok: sum((s) => s.ok),
    non2xx: sum((s) => s.non2xx),
    errors: sum((s) => s.errors),
    timeouts: sum((s) => s.timeouts),
    statusCodes,
    latency: mergeHistograms(snapshots.map((s) => s.latency)),
    stages: new Map(ordered.map((n) => [n, named.get(n)!])),
    scheduleLag: mergeHistograms(snapshots.map((s) => s.scheduleLag)),
    windows: mergeWindows(snapshots.flatMap((s) => (s.windows ? [s.windows] : []))),
  };
}
