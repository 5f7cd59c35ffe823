/**
 * Whether a load phase measured the service or the harness: the load generators' own CPU, event-loop
 * delay and (open loop) schedule lag, against fixed limits. A saturated phase is invalid — its
 * latencies include the harness's queueing — and says which limit it crossed.
 */
import type { ChildLoad } from './job.js';

export const HARNESS_LIMITS = {
  /** Busiest child's CPU time over the phase's wall time, as a share of one core. */
  cpuShare: 0.9,
  /** Busiest child's event-loop delay p99: callbacks (responses, timers) waited this long to run. */
  eventLoopDelayP99Ms: 20,
  /** Open loop: p99 of actual minus scheduled send time. */
  scheduleLagP99Ms: 10,
  /** Open loop: the same lag as a share of the per-user send interval. */
  scheduleLagIntervalShare: 0.5,
} as const;

export type HarnessLimits = { readonly [K in keyof typeof HARNESS_LIMITS]: number };

export interface HarnessMeasurements {
  cpuShare: number;
  eventLoopDelayP99Ms: number;
  /** null for closed loops and SQL lanes, which have no schedule. */
  scheduleLagP99Ms: number | null;
  /** The open loop's per-user send interval; null without a schedule. */
  intervalMs: number | null;
}

export interface HarnessVerdict {
  saturated: boolean;
  /**
   * Every limit crossed, e.g. "busiest harness process used 0.95 of a core (limit 0.9)", and whether
   * the harness was busy itself or starved by other processes; null when valid.
   */
  reason: string | null;
}

/** The harness figures of one phase, as the results carry them. */
export interface HarnessReport extends HarnessVerdict {
  processes: number;
  cpuShare: number;
  eventLoopDelayP99Ms: number;
  scheduleLagP99Ms: number | null;
}

const fmt = (x: number) => String(Math.round(x * 100) / 100);

export function judgeHarness(m: HarnessMeasurements, limits: HarnessLimits = HARNESS_LIMITS): HarnessVerdict {
  const tripped: string[] = [];
  if (m.cpuShare >= limits.cpuShare) {
    tripped.push(`busiest harness process used ${fmt(m.cpuShare)} of a core (limit ${fmt(limits.cpuShare)})`);
  }
  if (m.eventLoopDelayP99Ms >= limits.eventLoopDelayP99Ms) {
    tripped.push(`harness event-loop delay p99 ${fmt(m.eventLoopDelayP99Ms)} ms (limit ${fmt(limits.eventLoopDelayP99Ms)} ms)`);
  }
  if (m.scheduleLagP99Ms !== null) {
    if (m.scheduleLagP99Ms >= limits.scheduleLagP99Ms) {
      tripped.push(`open-loop schedule lag p99 ${fmt(m.scheduleLagP99Ms)} ms (limit ${fmt(limits.scheduleLagP99Ms)} ms)`);
    }
    if (m.intervalMs !== null && m.scheduleLagP99Ms >= limits.scheduleLagIntervalShare * m.intervalMs) {
      tripped.push(
        `open-loop schedule lag p99 ${fmt(m.scheduleLagP99Ms)} ms is ${fmt(m.scheduleLagP99Ms / m.intervalMs)} of the ${fmt(m.intervalMs)} ms send interval (limit ${fmt(limits.scheduleLagIntervalShare)})`,
      );
    }
  }
  if (tripped.length === 0) return { saturated: false, reason: null };
  // Late callbacks in a process that was mostly idle: other processes held the cores (noisy host).
  if (m.cpuShare < limits.cpuShare / 2) tripped.push(`the harness itself used only ${fmt(m.cpuShare)} of a core, so the host's CPUs were contended`);
  return { saturated: true, reason: tripped.join('; ') };
}

/** The busiest child's figures over a phase's children, judged. */
export function harnessReport(
  loads: readonly ChildLoad[],
  schedule: { scheduleLagP99Ms: number; intervalMs: number } | null = null,
  limits: HarnessLimits = HARNESS_LIMITS,
): HarnessReport {
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const measurements: HarnessMeasurements = {
    cpuShare: Math.max(0, ...loads.map((l) => l.cpuShare)),
    eventLoopDelayP99Ms: Math.max(0, ...loads.map((l) => l.eventLoopDelayP99Ms)),
    scheduleLagP99Ms: schedule?.scheduleLagP99Ms ?? null,
    intervalMs: schedule?.intervalMs ?? null,
  };
  return {
    processes: loads.length,
    cpuShare: round(measurements.cpuShare),
    eventLoopDelayP99Ms: round(measurements.eventLoopDelayP99Ms),
    scheduleLagP99Ms: measurements.scheduleLagP99Ms === null ? null : round(measurements.scheduleLagP99Ms),
    ...judgeHarness(measurements, limits),
  };
}

/** The window every child measured, in seconds: first start to last end. */
export function unionSeconds(loads: readonly ChildLoad[]): number {
  if (loads.length === 0) return 0;
  return (Math.max(...loads.map((l) => l.endedAt)) - Math.min(...loads.map((l) => l.startedAt))) / 1000;
}
