/**
 * Runs harness jobs (job.ts) in child processes, so a load generator never shares an event loop with
 * the Temporal worker (or with the other children): `node --import tsx child-entry.ts`, talking over
 * an IPC channel with advanced serialisation (Buffers pass as Buffers).
 *
 * runInChildren gives each input a child, waits until every child has prepared, tells them all to
 * go at once, and returns their results with each child's own load figures. A child that finished
 * its job waits, idle, for the next phase's job (`keepIdleMs`, then it is stopped): a benchmark runs
 * a dozen phases back to back, and starting a child costs about a second of CPU on the cores the
 * phases measure. Idle children never keep this process alive. runInChildren kills its children when
 * the AbortSignal fires (rejecting with the signal's reason) and when any child fails; every child
 * dies when this process exits. A child that dies without a result becomes a HarnessChildError
 * carrying the tail of its output.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildLoad, ChildMessage, Job, ParentMessage } from './job.js';

const ENTRY = fileURLToPath(new URL('./child-entry.ts', import.meta.url));
/** Resolved from this package, so a child starts whatever the parent's working directory or loader. */
const TSX_LOADER = import.meta.resolve('tsx');
const OUTPUT_TAIL_CHARS = 4_000;
/** How long a child may take to exit after SIGTERM before SIGKILL. */
const EXIT_GRACE_MS = 2_000;
/** How long a child that finished its job waits for another before it is stopped. */
const KEEP_IDLE_MS = 30_000;

export class HarnessChildError extends Error {
  constructor(message: string, readonly childStack?: string) {
    super(message);
    this.name = 'HarnessChildError';
  }
}

export interface ChildRun<O> {
  result: O;
  load: ChildLoad;
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  // Marked handled: a child can fail before anyone awaits this step; the failure still reaches the awaiting caller.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** One job's progress through a child: prepared (ready), then finished (done) or failed. */
class JobRun<O> {
  readonly ready = deferred<void>();
  readonly done = deferred<ChildRun<O>>();
  private settled = false;

  constructor(readonly label: string, readonly start: ParentMessage, readonly onProgress: (value: unknown) => void) {}

  finish(run: ChildRun<O>): void {
    if (this.settled) return;
    this.settled = true;
    this.done.resolve(run);
  }

  fail(err: HarnessChildError): void {
    if (this.settled) return;
    this.settled = true;
    this.ready.reject(err);
    this.done.reject(err);
  }
}

/** A child process that runs one job at a time, for as many jobs as it is given. */
class HarnessChild {
  private readonly process: ChildProcess;
  private readonly exitStep = deferred<void>();
  private output = '';
  private up = false;
  private run: JobRun<unknown> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor() {
    this.process = fork(ENTRY, [], {
      execArgv: ['--import', TSX_LOADER],
      serialization: 'advanced',
      // Output is kept (its tail explains a crash), never echoed: a child must not write into the parent's stdout.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const keep = (chunk: Buffer) => void (this.output = (this.output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS));
    this.process.stdout!.on('data', keep);
    this.process.stderr!.on('data', keep);
    this.process.on('message', (m: ChildMessage) => this.receive(m));
    this.process.once('error', (err) => {
      this.run?.fail(new HarnessChildError(`${this.describe()}: ${err.message}`));
      // A process that never spawned never exits.
      if (this.process.pid === undefined) this.exitStep.resolve();
    });
    // 'exit' can come before the last messages are read; the channel closes only after them, so a
    // child counts as having died without a result once both have happened.
    const disconnected = new Promise((resolve) => this.process.once('disconnect', resolve));
    this.process.once('exit', (code, signal) => {
      this.exitStep.resolve();
      void disconnected.then(() => {
        const tail = this.output.trim();
        this.run?.fail(new HarnessChildError(`${this.describe()} exited (${signal ?? `code ${code}`}) before finishing${tail ? `; its output ended with:\n${tail}` : ''}`));
      });
    });
  }

  get exited(): boolean {
    return this.process.exitCode !== null || this.process.signalCode !== null || this.process.pid === undefined;
  }

  /** Gives the child its next job (sent once the child is up); the returned run says when it is ready and done. */
  begin<O>(job: Job<unknown, O, unknown>, input: unknown, label: string, onProgress: (value: unknown) => void): JobRun<O> {
    const run = new JobRun<O>(label, { type: 'start', module: job.module, name: job.name, input }, onProgress);
    this.run = run as JobRun<unknown>;
    this.setIdle(false);
    if (this.up) this.send(run.start);
    return run;
  }

  go(startedAt: number): void {
    this.send({ type: 'go', startedAt });
  }

  /**
   * Waits idle for the next job, not keeping this process alive, and stops after `keepIdleMs`.
   * Returns false when the child cannot take another job (it exited or is mid-job).
   */
  park(keepIdleMs: number, onStop: () => void): boolean {
    if (this.exited || this.run || !this.process.connected) return false;
    this.setIdle(true);
    this.idleTimer = setTimeout(() => {
      onStop();
      void this.stop();
    }, keepIdleMs);
    this.idleTimer.unref();
    return true;
  }

  /** SIGTERM now and SIGKILL after the grace period; resolves once the child has exited. */
  async stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    if (this.exited) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => !this.exited && this.process.kill('SIGKILL'), EXIT_GRACE_MS);
    await this.exitStep.promise;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.exited) this.process.kill('SIGKILL');
  }

  /** An idle child holds no reference on this process's event loop: its handles are unref'd. */
  private setIdle(idle: boolean): void {
    clearTimeout(this.idleTimer);
    const handles = [this.process, this.process.channel, this.process.stdout, this.process.stderr] as ({ ref?(): void; unref?(): void } | null | undefined)[];
    for (const h of handles) (idle ? h?.unref : h?.ref)?.call(h);
  }

  private receive(m: ChildMessage): void {
    const run = this.run;
    switch (m.type) {
      case 'up':
        this.up = true;
        if (run) this.send(run.start);
        break;
      case 'ready':
        run?.ready.resolve();
        break;
      case 'progress':
        run?.onProgress(m.value);
        break;
      case 'result':
        if (!run) break;
        this.run = undefined;
        run.finish({ result: m.value, load: m.load });
        break;
      case 'error':
        run?.fail(new HarnessChildError(`${this.describe()} failed: ${m.name}: ${m.message}`, m.stack));
        break;
    }
  }

  private send(message: ParentMessage): void {
    if (!this.process.connected) return;
    this.process.send(message, (err) => err && this.run?.fail(new HarnessChildError(`${this.describe()}: IPC send failed: ${err.message}`)));
  }

  private describe(): string {
    return `harness child ${this.run?.label ?? 'idle'} (pid ${this.process.pid ?? '?'})`;
  }
}

/** Every child of this process, busy or idle: all die with it, even when nobody got to clean up. */
const live = new Set<HarnessChild>();
/** Children waiting for a job. */
const idle: HarnessChild[] = [];

process.on('exit', () => {
  for (const c of live) c.kill();
});

function acquire(): HarnessChild {
  for (let c = idle.pop(); c; c = idle.pop()) {
    if (!c.exited) return c;
    live.delete(c);
  }
  const child = new HarnessChild();
  live.add(child);
  return child;
}

function release(child: HarnessChild, keepIdleMs: number): void {
  const forget = () => {
    live.delete(child);
    const i = idle.indexOf(child);
    if (i >= 0) idle.splice(i, 1);
  };
  if (keepIdleMs > 0 && child.park(keepIdleMs, forget)) idle.push(child);
  else {
    forget();
    void child.stop();
  }
}

/** Stops every idle child now (their jobs are done; a later run starts new ones). */
export async function stopIdleChildren(): Promise<void> {
  const stopping = idle.splice(0).map((c) => {
    live.delete(c);
    return c.stop();
  });
  await Promise.all(stopping);
}

export interface RunInChildrenOptions<P> {
  /** Names the children in errors, e.g. "sql-concurrency:search:8". */
  label: string;
  signal?: AbortSignal;
  /** A child's latest progress value, by the child's index in `inputs`. */
  onProgress?: (child: number, value: P) => void;
  /** Told the shared run start (epoch ms) the moment every child has been told to go. */
  onGo?: (startedAt: number) => void;
  /** How long the children wait idle for another job after this one (default KEEP_IDLE_MS; 0 stops them at once). */
  keepIdleMs?: number;
}

/** One child per input; resolves with their results in input order once every child has finished. */
export async function runInChildren<I, O, P>(job: Job<I, O, P>, inputs: readonly I[], options: RunInChildrenOptions<P>): Promise<ChildRun<O>[]> {
  const { signal } = options;
  signal?.throwIfAborted();
  const children = inputs.map(() => acquire());
  const runs = children.map((child, i) =>
    child.begin(job as Job<unknown, O, unknown>, inputs[i], `${options.label}#${i}`, (v) => options.onProgress?.(i, v as P)),
  );
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  let ok = false;
  try {
    await Promise.race([Promise.all(runs.map((r) => r.ready.promise)), aborted]);
    const startedAt = performance.timeOrigin + performance.now();
    for (const c of children) c.go(startedAt);
    options.onGo?.(startedAt);
    const results = await Promise.race([Promise.all(runs.map((r) => r.done.promise)), aborted]);
    ok = true;
    return results;
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    if (ok) {
      for (const c of children) release(c, options.keepIdleMs ?? KEEP_IDLE_MS);
    } else {
      // After a failure or an abort no child is reused: each is killed now, and waited for.
      await Promise.all(children.map((c) => {
        live.delete(c);
        return c.stop();
      }));
    }
  }
}
