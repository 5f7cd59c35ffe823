/**
 * How a phase's lanes (SQL connections, HTTP users) are spread over harness processes.
 *
 * At most one process per core, lanes dealt round-robin. A lane costs its process tens of
 * microseconds of CPU per request, so one process drives many lanes far below a core; each process
 * costs ~50 MB and a second of tsx start-up, and every one competes with the database and the API
 * for the same cores. More processes than cores would add contention, not headroom. Each phase's
 * `harness` figures (busiest process's CPU share and event-loop delay) check the spread held up.
 */
import { availableParallelism } from 'node:os';

export function harnessProcesses(lanes: number, requested?: number): number {
  const cap = requested ?? availableParallelism();
  return Math.max(1, Math.min(lanes, Math.floor(cap)));
}

/** Lane indices 0..lanes-1 dealt round-robin over `processes` processes (none left empty). */
export function spreadLanes(lanes: number, processes: number): number[][] {
  const n = Math.max(1, Math.min(lanes, processes));
  const spread = Array.from({ length: n }, (): number[] => []);
  for (let lane = 0; lane < lanes; lane++) spread[lane % n]!.push(lane);
  return spread;
}
