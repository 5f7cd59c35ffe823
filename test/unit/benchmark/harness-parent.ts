/**
 * A parent process for the harness test: starts an endless job in a child, prints `CHILD <pid>`
 * once the child reports, and waits to be killed (the test kills it with SIGKILL: no clean-up runs).
 */
import { runInChildren } from '../../../src/benchmark/harness/run-child.js';
import { endlessJob } from './harness-jobs.js';

let printed = false;
void runInChildren(endlessJob, [undefined], {
  label: 'orphan-test',
  onProgress: (_child, pid) => {
    if (printed) return;
    printed = true;
    console.log(`CHILD ${pid}`);
  },
});
