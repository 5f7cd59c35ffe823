import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../helpers/cli.js';

/** Test files that append their process id to PIDS_FILE; `fail` fails its one test. */
async function fixtures(t: TestContext) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'run-test-files-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = async (name: string, body: string) => {
    const p = path.join(dir, name);
    await writeFile(p, `import { test } from 'node:test';\nimport { appendFileSync } from 'node:fs';\n${body}\n`);
    return p;
  };
  const record = `test('records its process', () => appendFileSync(process.env.PIDS_FILE!, \`\${process.pid}\\n\`));`;
  return {
    dir,
    a: await file('a.test.ts', record),
    b: await file('b.test.ts', record),
    fail: await file('fail.test.ts', `test('fails', () => { throw new Error('deliberate'); });`),
    pids: async () => (await readFile(path.join(dir, 'pids'), 'utf8').catch(() => '')).split('\n').filter(Boolean),
    env: { PIDS_FILE: path.join(dir, 'pids'), TEST_FILE_TIMES: path.join(dir, 'times') },
  };
}

/** The runner as scripts/test.sh starts it: not inside a test runner (this file's NODE_TEST_CONTEXT would make it report to this one). */
const runner = (args: string[], env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', 'scripts/run-test-files.ts', ...args], { ...env, NODE_TEST_CONTEXT: undefined });

test('--isolation none runs every file in one process and records one times line for them all', async (t) => {
  const f = await fixtures(t);
  const result = await runner(['--isolation', 'none', f.a, f.b], f.env);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const pids = await f.pids();
  assert.equal(pids.length, 2, 'both files ran');
  assert.equal(new Set(pids).size, 1, 'in the same process');
  const times = (await readFile(f.env.TEST_FILE_TIMES, 'utf8')).trim().split('\n').map((line) => line.split('\t'));
  assert.deepEqual(times.map((fields) => [fields.length, fields[2]]), [[4, '2 files in one process']]);
});

test('each file in its own process by default; a failing test fails the run with exit 1', async (t) => {
  const f = await fixtures(t);
  const result = await runner(['--concurrency', '2', f.a, f.b, f.fail], f.env);
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(result.stdout, /deliberate/);
  assert.equal(new Set(await f.pids()).size, 2, 'a process per file');
});

test('a bad command line exits 2 and names the problem, running nothing', async (t) => {
  const f = await fixtures(t);
  for (const [args, message] of [
    [['--isolation', 'thread', f.a], /--isolation must be process or none, got "thread"/],
    [['--concurrency', '0', f.a], /--concurrency must be a positive integer, got "0"/],
    [[], /no test files given/],
  ] as const) {
    const result = await runner([...args], f.env);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, message);
  }
  assert.deepEqual(await f.pids(), []);
});
