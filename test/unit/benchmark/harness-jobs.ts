/** Harness jobs for test/unit/benchmark/harness.test.ts: what a child can do, good and bad. */
import { defineJob } from '../../../src/benchmark/harness/job.js';

/** Returns its input with the child's pid; reports the input's `progress` values first. */
export const echoJob = defineJob(import.meta.url, 'echoJob', {
  prepare: async (input: { payload: Buffer; progress: number[] }) => input,
  async run(input, ctx: { progress(n: number): void }) {
    for (const n of input.progress) ctx.progress(n);
    // Lets the coalesced progress flush before the result.
    await new Promise((r) => setTimeout(r, 300));
    return { payload: input.payload, isBuffer: Buffer.isBuffer(input.payload), pid: process.pid };
  },
});

export const failingJob = defineJob(import.meta.url, 'failingJob', {
  prepare: async () => undefined,
  run: async () => {
    throw new RangeError('no such lane');
  },
});

/** Prints a line, then the process dies without a result. */
export const crashingJob = defineJob(import.meta.url, 'crashingJob', {
  prepare: async () => undefined,
  run: async () => {
    process.stderr.write('lane 3 lost its connection\n', () => process.exit(3));
    return new Promise<never>(() => undefined);
  },
});

/** Reports its pid, then runs until killed. */
export const endlessJob = defineJob(import.meta.url, 'endlessJob', {
  prepare: async () => undefined,
  run: (_input, ctx: { progress(pid: number): void }) => {
    ctx.progress(process.pid);
    setInterval(() => ctx.progress(process.pid), 100);
    return new Promise<never>(() => undefined);
  },
});

/** Exported under another name than it was defined with: the child must refuse it. */
export const misnamedJob = defineJob(import.meta.url, 'someOtherName', {
  prepare: async () => undefined,
  run: async () => 'ran',
});
