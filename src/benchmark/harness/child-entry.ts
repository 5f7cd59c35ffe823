/**
 * The harness child's main module (started by run-child.ts as `node --import tsx child-entry.ts`):
 * for each job the parent sends, imports the job's module, prepares, waits for go, runs while
 * measuring its own CPU time and event-loop delay, and sends the result; then it waits for the next
 * job until the parent stops it. A job that fails ends the child. It exits as soon as the parent goes
 * away (the IPC channel closes even when the parent is killed), so no load generator outlives its
 * benchmark.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isJob, type ChildLoad, type ChildMessage, type JobContext, type ParentMessage } from './job.js';

/** The event-loop delay sampling interval; the monitor's samples include it, so it is subtracted. */
const LOOP_DELAY_RESOLUTION_MS = 10;
/** Progress goes to the parent at most this often (the parent reports about once a second). */
const PROGRESS_EVERY_MS = 250;

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, undefined, {}, (err) => (err ? reject(err) : resolve())));
}

function nextMessage<T extends ParentMessage['type']>(type: T): Promise<Extract<ParentMessage, { type: T }>> {
  return new Promise((resolve) => {
    const onMessage = (m: ParentMessage) => {
      if (m.type !== type) return;
      process.off('message', onMessage);
      resolve(m as Extract<ParentMessage, { type: T }>);
    };
    process.on('message', onMessage);
  });
}

/** The job's context: progress coalesced to the latest value and flushed on a timer (not on every query), and the shared run start. */
function jobContext<P>(startedAt: number): JobContext<P> & { stop(): void } {
  let latest: { value: P } | undefined;
  const timer = setInterval(() => {
    if (!latest) return;
    void send({ type: 'progress', value: latest.value }).catch(() => undefined);
    latest = undefined;
  }, PROGRESS_EVERY_MS);
  return {
    progress: (value) => void (latest = { value }),
    startedAt,
    stop: () => clearInterval(timer),
  };
}

/** Runs one job from its start message to its result. */
async function runJob(start: Extract<ParentMessage, { type: 'start' }>): Promise<{ value: unknown; load: ChildLoad }> {
  const exported = (await import(start.module) as Record<string, unknown>)[start.name];
  if (!isJob(exported) || exported.name !== start.name) throw new Error(`${start.module} exports no harness job named ${start.name} (a job's defineJob name must be its export name)`);
  const { spec } = exported;
  const state = await spec.prepare(start.input);
  try {
    const go = nextMessage('go');
    await send({ type: 'ready' });
    const { startedAt } = await go;
    const loop = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
    const reporter = jobContext<unknown>(startedAt);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    loop.enable();
    try {
      const value = await spec.run(state, reporter);
      const t1 = performance.now();
      loop.disable();
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      const wallMs = t1 - t0;
      return {
        value,
        load: {
          pid: process.pid,
          cpuMs,
          wallMs,
          cpuShare: wallMs > 0 ? cpuMs / wallMs : 0,
          eventLoopDelayP99Ms: loop.count === 0 ? 0 : Math.max(0, loop.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS),
          startedAt: performance.timeOrigin + t0,
          endedAt: performance.timeOrigin + t1,
        },
      };
    } finally {
      loop.disable();
      reporter.stop();
    }
  } finally {
    await spec.close?.(state);
  }
}

/** Jobs one after another, for as long as the parent keeps this child. */
async function serve(): Promise<never> {
  let next = nextMessage('start');
  await send({ type: 'up' });
  for (;;) {
    const result = await runJob(await next);
    // Listening before the result goes out: the parent may send the next job as soon as it has it.
    next = nextMessage('start');
    await send({ type: 'result', ...result });
  }
}

if (!process.send) {
  console.error('child-entry.ts runs harness jobs for run-child.ts; it is not a command');
  process.exit(2);
}

// The parent is gone (exited, crashed or killed): nobody wants this load any more.
process.on('disconnect', () => process.exit(1));

serve().catch(
  async (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    await send({ type: 'error', name: e.name, message: e.message, stack: e.stack }).catch(() => undefined);
    process.exit(1);
  },
);
