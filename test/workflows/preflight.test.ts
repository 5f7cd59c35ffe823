import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import type { PreflightReport } from '../../src/workflows/messages.js';
import { progressQuery } from '../../src/workflows/messages.js';
import { startWorker, testConfig, uniqueName, withClient, workflowBundle } from '../helpers/env.js';

const EXPECTED_CHECKS = [
  'postgresql',
  'pgvector',
  'schema',
  'shared_buffers',
  'maintenance_work_mem',
  'max_parallel_maintenance_workers',
  'redis',
  'embedder',
  'temporal',
];

test('preflight runs end to end on the dev server and its history replays deterministically', async (t) => {
  const config = testConfig();
  const worker = await startWorker(config);
  t.after(() => worker.stop());

  await withClient(config, async (client) => {
    const workflowId = uniqueName('preflight');
    const handle = await client.workflow.start('preflight', { taskQueue: config.temporal.taskQueue, workflowId, args: [{}] });
    const report = (await handle.result()) as PreflightReport;

    assert.deepEqual(report.checks.map((c) => c.name), EXPECTED_CHECKS);
    for (const c of report.checks) {
      assert.ok(['pass', 'warn', 'fail'].includes(c.status), `${c.name} has a status`);
      assert.ok(c.detail.length > 0, `${c.name} has a reason`);
    }
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => c.status === 'fail')));
    assert.equal(report.checks.find((c) => c.name === 'pgvector')?.value, '0.8.0');
    assert.equal(report.checks.find((c) => c.name === 'temporal')?.value, config.temporal.namespace);

    const progress = await handle.query(progressQuery);
    assert.deepEqual([progress.stage, progress.state, progress.done, progress.total], ['preflight', 'succeeded', 3, 3]);

    const history = await handle.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId);
  });
});

test('a memory target beyond shared_buffers turns that check into a warning', async (t) => {
  const config = testConfig();
  const worker = await startWorker(config);
  t.after(() => worker.stop());
  await withClient(config, async (client) => {
    const report = (await client.workflow.execute('preflight', {
      taskQueue: config.temporal.taskQueue,
      workflowId: uniqueName('preflight-big'),
      args: [{ targetTraces: 50_000_000 }],
    })) as PreflightReport;
    const shared = report.checks.find((c) => c.name === 'shared_buffers');
    assert.equal(shared?.status, 'warn');
    assert.match(shared?.detail ?? '', /HNSW for 50,000,000 × 1536 needs ~\d+ GB; searches will read the index from disk/);
    assert.equal(report.ok, true, 'warnings do not fail preflight');
  });
});

test('an unreachable Redis is a fail with the reason, not a hang', async (t) => {
  const config = testConfig({ redisUrl: 'redis://127.0.0.1:1' });
  const worker = await startWorker(config);
  t.after(() => worker.stop());
  await withClient(config, async (client) => {
    const report = (await client.workflow.execute('preflight', {
      taskQueue: config.temporal.taskQueue,
      workflowId: uniqueName('preflight-noredis'),
      args: [{}],
    })) as PreflightReport;
    const redis = report.checks.find((c) => c.name === 'redis');
    assert.equal(redis?.status, 'fail');
    assert.match(redis?.detail ?? '', /redis:\/\/127\.0\.0\.1:1: .*Start Redis or fix REDIS_URL/);
    assert.equal(report.ok, false);
  });
});
