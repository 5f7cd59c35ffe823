import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildWorkflowBundle, WORKFLOWS_PATH, WorkflowBundleMissingError, workflowCodeOption } from '../../src/workflow-bundle.js';
import { loadConfig } from '../../src/config.js';
import { run } from '../helpers/cli.js';

test('without TEMPORAL_WORKFLOW_BUNDLE the worker bundles src/workflows itself', () => {
  assert.equal(loadConfig({}).temporal.workflowBundlePath, undefined);
  assert.deepEqual(workflowCodeOption(undefined), { workflowsPath: WORKFLOWS_PATH });
  assert.match(WORKFLOWS_PATH, /src\/workflows\/index\.ts$/);
});

test('a named bundle that does not exist is refused with the command that builds it', () => {
  const missing = path.join(os.tmpdir(), 'no-such-dir', 'bundle.js');
  assert.equal(loadConfig({ TEMPORAL_WORKFLOW_BUNDLE: missing }).temporal.workflowBundlePath, missing);
  assert.throws(() => workflowCodeOption(missing), (err: unknown) => {
    assert.ok(err instanceof WorkflowBundleMissingError);
    assert.ok(err.message.includes(missing));
    assert.match(err.message, /npm run build:workflows/);
    return true;
  });
});

test('a built bundle holds the workflows and is what the worker loads', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'workflow-bundle-'));
  try {
    const out = path.join(dir, 'nested', 'bundle.js');
    const bytes = await buildWorkflowBundle(out);
    const code = await readFile(out, 'utf8');
    assert.equal(Buffer.byteLength(code), bytes);
    for (const name of ['launchReadiness', 'capacityPopulation', 'capacityRecheck']) assert.ok(code.includes(name), name);
    assert.deepEqual(workflowCodeOption(out), { workflowBundle: { codePath: out } });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the worker process reads TEMPORAL_WORKFLOW_BUNDLE: a missing bundle stops it at start, before it connects anywhere', async () => {
  const missing = path.join(os.tmpdir(), 'no-such-dir', 'workflow-bundle.js');
  // Unreachable services: the refusal must come first, from the bundle setting alone.
  const result = await run(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    TEMPORAL_WORKFLOW_BUNDLE: missing, TEMPORAL_ADDRESS: '127.0.0.1:1', DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none', LOG_FORMAT: 'json',
  });
  assert.equal(result.code, 1, result.stderr);
  assert.ok(result.stderr.includes(missing), result.stderr);
  assert.match(result.stderr, /npm run build:workflows/);
  assert.doesNotMatch(result.stderr, /Cannot reach the Temporal server/);
});
