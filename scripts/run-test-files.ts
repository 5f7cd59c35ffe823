/**
 * Runs test files with node's test runner in the order they are given, `--concurrency` at a time,
 * each in its own process. `node --test a b c` sorts its files by name, which would undo the
 * slowest-first order scripts/test.sh chooses; the runner's `run()` starts them as listed.
 *
 * Usage: node --import tsx [--import …] scripts/run-test-files.ts [--concurrency N] [--timeout MS] <file…>
 * The test-file processes inherit this process's --import flags (tsx, the per-file database).
 * Exits 1 when a test fails, 2 on a bad command line.
 */
import path from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { parseArgs } from 'node:util';

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`run-test-files: --${name} must be a positive integer, got "${value}"`);
    process.exit(2);
  }
  return n;
}

const { values, positionals: files } = parseArgs({
  allowPositionals: true,
  options: { concurrency: { type: 'string', default: '3' }, timeout: { type: 'string', default: '900000' } },
});
if (files.length === 0) {
  console.error('run-test-files: no test files given');
  process.exit(2);
}

run({
  files: files.map((f) => path.resolve(f)),
  concurrency: positiveInt('concurrency', values.concurrency),
  timeout: positiveInt('timeout', values.timeout),
})
  .on('test:fail', () => (process.exitCode = 1))
  .compose(spec)
  .pipe(process.stdout);
