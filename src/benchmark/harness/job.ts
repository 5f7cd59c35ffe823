/**
 * A job that runs in a harness child process (see run-child.ts): defined in a module that the child
 * imports by URL, found there by its export name, with a JSON/structured-clone serialisable input
 * and output (Buffers and typed arrays pass: the IPC channel uses advanced serialisation).
 *
 * A job has two steps so the measured window excludes start-up: `prepare` (connections, warm state)
 * runs as soon as the child starts; `run` starts only when the parent says go, so that every child
 * of a phase measures the same window and the child's own CPU and event-loop figures cover only it.
 */

export interface JobContext<P> {
  /** Latest-value progress (e.g. a running count); coalesced by the child before it goes over IPC. */
  progress(value: P): void;
  /**
   * When the parent told the phase's children to go, in epoch ms (performance.timeOrigin-based):
   * the same in every child of a phase, so their time windows (windows.ts) line up.
   */
  readonly startedAt: number;
}

export interface JobSpec<I, S, O, P> {
  prepare(input: I): Promise<S>;
  run(state: S, ctx: JobContext<P>): Promise<O>;
  /** Releases what prepare acquired; runs after `run`, whether it succeeded or not. */
  close?(state: S): Promise<void>;
}

export interface Job<I, O, P> {
  /** import.meta.url of the module that exports the job. */
  readonly module: string;
  /** The job's export name in that module. */
  readonly name: string;
  readonly spec: JobSpec<I, unknown, O, P>;
}

/**
 * Declares a job; `module` must be the defining module's import.meta.url and `name` the name it is
 * exported under (the child checks both and fails clearly when they disagree).
 */
export function defineJob<I, S, O, P = never>(module: string, name: string, spec: JobSpec<I, S, O, P>): Job<I, O, P> {
  return { module, name, spec: spec as JobSpec<I, unknown, O, P> };
}

export function isJob(value: unknown): value is Job<unknown, unknown, unknown> {
  const v = value as Partial<Job<unknown, unknown, unknown>> | null;
  return typeof v === 'object' && v !== null && typeof v.module === 'string' && typeof v.name === 'string' && typeof v.spec?.run === 'function';
}

/** What one child's measured window cost it: the harness's own load, judged by judgeHarness. */
export interface ChildLoad {
  pid: number;
  /** User + system CPU of the whole child process over the window. */
  cpuMs: number;
  wallMs: number;
  /** cpuMs / wallMs: the share of one core the child used. */
  cpuShare: number;
  /** p99 of the child's event-loop delay over the window (timer lateness beyond its interval). */
  eventLoopDelayP99Ms: number;
  /** The window in epoch milliseconds (sub-millisecond), comparable across processes. */
  startedAt: number;
  endedAt: number;
}

/** Parent → child. */
export type ParentMessage =
  | { type: 'start'; module: string; name: string; input: unknown }
  /** `startedAt`: the phase's run start in epoch ms, one value for all its children. */
  | { type: 'go'; startedAt: number };

/** Child → parent. */
export type ChildMessage =
  /** Listening: the parent may send `start` (a message sent before this could be lost). */
  | { type: 'up' }
  | { type: 'ready' }
  | { type: 'progress'; value: unknown }
  | { type: 'result'; value: unknown; load: ChildLoad }
  | { type: 'error'; name: string; message: string; stack?: string };
