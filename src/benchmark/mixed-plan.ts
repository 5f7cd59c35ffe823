/**
 * The pure parts of the mixed (search while writing) phase: how the writes are paced over writer
 * users within the per-user write quota, what each contribution says, and the statistics of the
 * contribution-to-searchable delay. No I/O; mixed-load.ts runs the phase.
 */

/** What `--writes-per-minute` accepts: up to 100 writes a second over all writers. */
export const WRITES_PER_MINUTE_RANGE = { min: 1, max: 6_000 } as const;

export interface WritePlan {
  writers: number;
  /** Each writer's rate. */
  perWriterPerMinute: number;
  /** Each writer's send interval. */
  intervalMs: number;
}

/**
 * As few writers as keep each at or under `maxPerWriterPerMinute`, sharing `writesPerMinute` equally.
 * Their schedules are staggered evenly across the interval (writeSchedule), so the writes arrive at
 * a steady total rate.
 */
export function planWrites(writesPerMinute: number, maxPerWriterPerMinute: number): WritePlan {
  if (!(writesPerMinute > 0) || !(maxPerWriterPerMinute > 0)) {
    throw new RangeError(`writes per minute must be positive, got ${writesPerMinute} in total and ${maxPerWriterPerMinute} per writer`);
  }
  const writers = Math.ceil(writesPerMinute / maxPerWriterPerMinute);
  const perWriterPerMinute = writesPerMinute / writers;
  return { writers, perWriterPerMinute, intervalMs: 60_000 / perWriterPerMinute };
}

export interface WriteSlot {
  writer: number;
  /** The writer's k-th write (from 0). */
  seq: number;
  /** When to send it, in ms from the phase's start. */
  atMs: number;
}

/** Every write of a phase of `seconds`: writer w's k-th at (k + w / writers) × interval, before the end; in time order. */
export function writeSchedule(plan: WritePlan, seconds: number): WriteSlot[] {
  const endMs = seconds * 1000;
  const slots: WriteSlot[] = [];
  for (let writer = 0; writer < plan.writers; writer++) {
    for (let seq = 0; ; seq++) {
      const atMs = (seq + writer / plan.writers) * plan.intervalMs;
      if (atMs >= endMs) break;
      slots.push({ writer, seq, atMs });
    }
  }
  return slots.sort((a, b) => a.atMs - b.atMs || a.writer - b.writer);
}

const WORDS = (
  'cache retry timeout queue lock index vacuum replica shard token bucket socket buffer stream batch worker cron deploy rollback ' +
  'schema migration cursor pool latency backoff webhook payload header cookie session proxy certificate container volume build'
).split(' ');

/**
 * A contribution's text, unique per run tag, writer and write, and short enough (well under the
 * search query's 1,000 characters) that its whole embedding text can be sent as a search query.
 */
export function contributionText(runTag: string, writer: number, seq: number): { title: string; context: string; solution: string } {
  const pick = (i: number) => WORDS[(writer * 7 + seq * 13 + i * 5) % WORDS.length]!;
  const topic = `${pick(0)} ${pick(1)} ${pick(2)}`;
  return {
    title: `Search-while-writing benchmark ${runTag} writer ${writer} note ${seq}`,
    context: `While tuning the ${topic} path (run ${runTag}, writer ${writer}, write ${seq}) the service kept answering slowly under load.`,
    solution: `Bound the ${pick(3)} and ${pick(4)} settings, then retry with backoff: note ${writer}-${seq} of ${runTag}.`,
  };
}

export interface DelaySummary {
  /** Contributions the API accepted (2xx). */
  contributions: number;
  searchable: number;
  /** Accepted, but not found by a search within the phase and its grace period. */
  neverSearchable: number;
  /** Nearest-rank percentiles of the delays of those that became searchable; null when none did. */
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
}

/** The nearest-rank percentile of ascending values: the ⌈p/100 × n⌉-th. */
function nearestRank(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Delays in ms, one per accepted contribution, null for one that never became searchable. */
export function summarizeDelays(delays: readonly (number | null)[]): DelaySummary {
  const found = delays.filter((d): d is number => d !== null).sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    contributions: delays.length,
    searchable: found.length,
    neverSearchable: delays.length - found.length,
    p50Ms: found.length === 0 ? null : round(nearestRank(found, 50)),
    p95Ms: found.length === 0 ? null : round(nearestRank(found, 95)),
    maxMs: found.length === 0 ? null : round(found[found.length - 1]!),
  };
}
