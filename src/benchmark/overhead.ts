/**
 * The orchestration overhead figure of bench:search: the same serial pass through the worker's
 * activity and through a bare client, in alternating rounds. A single pair of passes is not enough:
 * on a 2-core host a p99 of 1,000 queries moves by 20–40% between back-to-back passes (a checkpoint,
 * autovacuum, the other process's GC), so each side's figure is the median over the rounds, and the
 * order alternates so a drift over the run does not favour either side.
 */
import { percentile } from './stats.js';

export interface PassFigures {
  p50: number;
  p99: number;
}

export interface OverheadRound {
  orchestratedFirst: boolean;
  orchestrated: PassFigures;
  raw: PassFigures;
}

export interface OverheadSummary {
  orchestratedP99Ms: number;
  rawP99Ms: number;
  /** Median orchestrated p99 over median raw p99. */
  overheadRatio: number;
  /** The same for p50, which a few slow queries cannot move. */
  p50Ratio: number;
}

/** Round r (from 0) runs the orchestrated pass first when r is even. */
export const orchestratedFirst = (round: number): boolean => round % 2 === 0;

const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : 0);

export function summarizeOverhead(rounds: readonly OverheadRound[]): OverheadSummary {
  if (rounds.length === 0) throw new Error('summarizeOverhead needs at least one round');
  const median = (pick: (r: OverheadRound) => number) => percentile(rounds.map(pick), 50);
  const orchestratedP99Ms = median((r) => r.orchestrated.p99);
  const rawP99Ms = median((r) => r.raw.p99);
  return {
    orchestratedP99Ms,
    rawP99Ms,
    overheadRatio: ratio(orchestratedP99Ms, rawP99Ms),
    p50Ratio: ratio(median((r) => r.orchestrated.p50), median((r) => r.raw.p50)),
  };
}
