/**
 * Runs harness jobs (job.ts) in child processes, so a load generator never shares an event loop with
 * the Temporal worker (or with the other children): `node --import tsx child-entry.ts`, talking over
 * an IPC channel with advanced serialisation (Buffers pass as Buffers).
 *
 * runInChildren starts one child per input, waits until every child has prepared, tells them all to
 * go at once, and returns their results with each child's own load figures. It kills the children
 * when the AbortSignal fires (rejecting with the signal's reason), when any child fails, and when
 * this process exits; a child that dies without a result becomes a HarnessChildError carrying the
 * tail of its output.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildLoad, ChildMessage, Job, ParentMessage } from './job.js';

const ENTRY = fileURLToPath(new URL('./child-entry.ts', import.meta.url));
/** Resolved from this package, so a child starts whatever the parent's working directory or loader. */
const TSX_LOADER = import.meta.resolve('tsx');
const OUTPUT_TAIL_CHARS = 4_000;
/** How long a child may take to exit on its own (or after SIGTERM) before SIGKILL. */
const EXIT_GRACE_MS = 2_000;

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

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Children die with this process even when nobody got to clean up (process.exit, a fatal error). */
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  // Marked handled: a child can fail before anyone awaits this step; the failure still reaches the awaiting caller.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

class HarnessChild<O> {
  private readonly process: ChildProcess;
  private readonly readyStep = deferred<void>();
  private readonly doneStep = deferred<ChildRun<O>>();
  private readonly exitStep = deferred<void>();
  private output = '';
  private settled = false;

  constructor(job: Job<unknown, O, unknown>, input: unknown, private readonly label: string, onProgress: (value: unknown) => void) {
    this.process = fork(ENTRY, [], {
      execArgv: ['--import', TSX_LOADER],
      serialization: 'advanced',
      // Output is kept (its tail explains a crash), never echoed: a child must not write into the parent's stdout.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    track(this.process);
    const keep = (chunk: Buffer) => void (this.output = (this.output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS));
    this.process.stdout!.on('data', keep);
    this.process.stderr!.on('data', keep);
    this.process.on('message', (m: ChildMessage) => {
      switch (m.type) {
        case 'up':
          this.send({ type: 'start', module: job.module, name: job.name, input });
          break;
        case 'ready':
          this.readyStep.resolve();
          break;
        case 'progress':
          onProgress(m.value);
          break;
        case 'result':
          this.settled = true;
          this.doneStep.resolve({ result: m.value as O, load: m.load });
          break;
        case 'error':
          this.fail(new HarnessChildError(`${this.describe()} failed: ${m.name}: ${m.message}`, m.stack));
          break;
      }
    });
    this.process.once('error', (err) => {
      this.fail(new HarnessChildError(`${this.describe()}: ${err.message}`));
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
        this.fail(new HarnessChildError(`${this.describe()} exited (${signal ?? `code ${code}`}) before finishing${tail ? `; its output ended with:\n${tail}` : ''}`));
      });
    });
  }

  get ready(): Promise<void> {
    return this.readyStep.promise;
  }

  get done(): Promise<ChildRun<O>> {
    return this.doneStep.promise;
  }

  go(startedAt: number): void {
    this.send({ type: 'go', startedAt });
  }

  /** Waits for the child to exit; `now` sends SIGTERM at once, otherwise only after the grace period. SIGKILL follows. */
  async stop(now: boolean): Promise<void> {
    if (this.exited || this.process.pid === undefined) return;
    if (now) this.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!this.exited) this.process.kill(now ? 'SIGKILL' : 'SIGTERM');
      setTimeout(() => !this.exited && this.process.kill('SIGKILL'), EXIT_GRACE_MS).unref();
    }, EXIT_GRACE_MS);
    await this.exitStep.promise;
    clearTimeout(timer);
  }

  private get exited(): boolean {
    return this.process.exitCode !== null || this.process.signalCode !== null;
  }

  private send(message: ParentMessage): void {
    if (!this.process.connected) return;
    this.process.send(message, (err) => err && this.fail(new HarnessChildError(`${this.describe()}: IPC send failed: ${err.message}`)));
  }

  private fail(err: HarnessChildError): void {
    if (this.settled) return;
    this.settled = true;
    this.readyStep.reject(err);
    this.doneStep.reject(err);
  }

  private describe(): string {
    return `harness child ${this.label} (pid ${this.process.pid ?? '?'})`;
  }
}

export interface RunInChildrenOptions<P> {
  /** Names the children in errors, e.g. "sql-concurrency:search:8". */
  label: string;
  signal?: AbortSignal;
  /** A child's latest progress value, by the child's index in `inputs`. */
  onProgress?: (child: number, value: P) => void;
  /** Told the shared run start (epoch ms) the moment every child has been told to go. */
  onGo?: (startedAt: number) => void;
}

/** One child per input; resolves with their results in input order once every child has finished. */
export async function runInChildren<I, O, P>(job: Job<I, O, P>, inputs: readonly I[], options: RunInChildrenOptions<P>): Promise<ChildRun<O>[]> {
  const { signal } = options;
  signal?.throwIfAborted();
  const children = inputs.map(
    (input, i) => new HarnessChild<O>(job as Job<unknown, O, unknown>, input, `${options.label}#${i}`, (v) => options.onProgress?.(i, v as P)),
  );
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  let ok = false;
  try {
    await Promise.race([Promise.all(children.map((c) => c.ready)), aborted]);
    const startedAt = performance.timeOrigin + performance.now();
    for (const c of children) c.go(startedAt);
    options.onGo?.(startedAt);
    const runs = await Promise.race([Promise.all(children.map((c) => c.done)), aborted]);
    ok = true;
    return runs;
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    // Finished children exit by themselves; after a failure or an abort the rest are killed now.
    await Promise.all(children.map((c) => c.stop(!ok)));
  }
}
