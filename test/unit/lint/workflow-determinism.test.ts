import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ESLint } from 'eslint';
import { REPO_ROOT } from '../../helpers/cli.js';

const eslint = new ESLint({ cwd: REPO_ROOT });
const workflowFile = path.join(REPO_ROOT, 'src/workflows/example.ts');

async function messages(code: string, filePath = workflowFile): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.message);
}

test('workflow code may not import Node built-ins or I/O libraries', async () => {
  assert.deepEqual(await messages(`import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n`), [
    "'node:fs' import is restricted from being used. Workflows must not use Node built-ins; do I/O in an activity.",
  ]);
  const pgMessages = await messages(`import pg from 'pg';\nexport const x = pg;\n`);
  assert.equal(pgMessages.length, 1);
  assert.match(pgMessages[0]!, /Non-deterministic or I\/O library: use it from an activity/);
});

test('workflow code may import activity types but not activity implementations', async () => {
  assert.deepEqual(await messages(`import type { Activities } from '../activities/index.js';\nexport type A = Activities;\n`), []);
  const runtime = await messages(`import { createActivities } from '../activities/index.js';\nexport const f = createActivities;\n`);
  assert.equal(runtime.length, 1);
  assert.match(runtime[0]!, /Import activity \*types\* only/);
});

test('only src/config.ts may read process.env', async () => {
  const elsewhere = await messages(`export const url = process.env.DATABASE_URL;\n`, path.join(REPO_ROOT, 'src/db/other.ts'));
  assert.deepEqual(elsewhere, ["'process.env' is restricted from being used. Read settings through src/config.ts (loadConfig)."]);
  assert.deepEqual(await messages(`export const url = process.env.DATABASE_URL;\n`, path.join(REPO_ROOT, 'src/config.ts')), []);
});

test('workflow code may import values only from pure modules; other src modules are types only', async () => {
  const runtime = await messages(`import { buildHnswIndex } from '../capacity/index-build.js';\nexport const f = buildHnswIndex;\n`);
  assert.equal(runtime.length, 1);
  assert.match(runtime[0]!, /Only types may be imported from outside src\/workflows/);
  assert.deepEqual(await messages(`import type { IndexBuildReport } from '../capacity/index-build.js';\nexport type R = IndexBuildReport;\n`), []);
  assert.deepEqual(await messages(`import { rootCauseMessage } from '../failure.js';\nexport const f = rootCauseMessage;\n`), []);
});
