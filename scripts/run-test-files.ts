/**
 * Runs test files with node's test runner in the order they are given, `--concurrency` at a time,
 * each in its own process. `node --test a b c` sorts its files by name, which would undo the
 * slowest-first order scripts/test.sh chooses; the runner's `run()` starts them as listed.
 * With `--isolation none` every file runs in this process instead, one after the other (the unit
 * tier's files without top-level hooks: scripts/test-unit.sh).
 *
 * Usage: node --import tsx [--import …] scripts/run-test-files.ts [--concurrency N] [--timeout MS] [--isolation process|none] <file…>
 * The test-file processes inherit this process's --import flags (tsx, the per-file database).
 * Exits 1 when a test fails, 2 on a bad command line.
 */
import path from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { parseArgs } from 'node:util';
import { recordTimesOnExit } from '../test/helpers/file-times.js';

function usageError(message: string): never {
  console.error(`run-test-files: ${message}`);
  process.exit(2);
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) usageError(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

const { values, positionals: files } = parseArgs({
  allowPositionals: true,
  options: { concurrency: { type: 'string', default: '3' }, timeout: { type: 'string', default: '900000' }, isolation: { type: 'string', default: 'process' } },
});
if (files.length === 0) usageError('no test files given');
const isolation = values.isolation;
if (isolation !== 'process' && isolation !== 'none') usageError(`--isolation must be process or none, got "${isolation}"`);
// In one process the files' times are this process's: one line for all of them.
if (isolation === 'none') recordTimesOnExit(`${files.length} files in one process`);

run({
  files: files.map((f) => path.resolve(f)),
  // --concurrency is how many files run at once; in one process, tests run one at a time, as they
  // do in a file of their own (a test that counts its own child processes must not see another's).
  concurrency: isolation === 'none' ? 1 : positiveInt('concurrency', values.concurrency),
  timeout: positiveInt('timeout', values.timeout),
  isolation,
})
  .on('test:fail', () => (process.exitCode = 1))
  .compose(spec)
  .pipe(process.stdout);
