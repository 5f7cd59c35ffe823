/**
 * A parent process for the harness test. `endless`: starts an endless job in a child, prints
 * `CHILD <pid>` once the child reports, and waits to be killed (the test kills it with SIGKILL: no
 * clean-up runs). `idle`: runs one job to its end, prints `CHILD <pid>` and does nothing more, with
 * the finished child idle for an hour: the process must exit by itself all the same.
 */
import { runInChildren } from '../../../src/benchmark/harness/run-child.js';
import { echoJob, endlessJob } from './harness-jobs.js';

const mode = process.argv[2];
if (mode === 'idle') {
  const [run] = await runInChildren(echoJob, [{ payload: Buffer.from('idle'), progress: [] }], { label: 'idle-parent', keepIdleMs: 3_600_000 });
  console.log(`CHILD ${run!.result.pid}`);
} else {
  let printed = false;
  void runInChildren(endlessJob, [undefined], {
    label: 'orphan-test',
    onProgress: (_child, pid) => {
      if (printed) return;
      printed = true;
      console.log(`CHILD ${pid}`);
    },
  });
}
