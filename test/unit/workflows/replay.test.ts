import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { REPO_ROOT } from '../../helpers/cli.js';
import { workflowBundle } from '../../helpers/env.js';

const DIR = path.join(REPO_ROOT, 'test/fixtures/histories');

test('committed workflow histories replay against the current code (determinism guard)', async () => {
  const files = (await readdir(DIR)).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(files, ['capacity-population.json', 'launch-readiness.json']);
  const histories = await Promise.all(
    files.map(async (f) => JSON.parse(await readFile(path.join(DIR, f), 'utf8')) as { workflowId: string; history: unknown }),
  );
  const results = Worker.runReplayHistories(
    { workflowBundle: await workflowBundle() },
    histories.map((h) => ({ workflowId: h.workflowId, history: historyFromJSON(h.history) })),
  );
  let replayed = 0;
  for await (const r of results) {
    assert.equal(r.error, undefined, `${r.workflowId}: ${r.error?.message}`);
    replayed++;
  }
  assert.equal(replayed, 2);
});
