import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { progressQuery } from '../../src/workflows/messages.js';
import { startWorker, testConfig, uniqueName, withClient, workflowBundle } from '../helpers/env.js';
import { preflight } from '../../src/workflows/preflight.js';

const EXPECTED_CHECKS = [
  'postgresql',
  'pgvector',
  'pgvector_advisories',
  'schema',
  'shared_buffers',
  'maintenance_work_mem',
  'max_parallel_maintenance_workers',
  'capacity_database',
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
    const handle = await client.workflow.start(preflight, { taskQueue: config.temporal.taskQueue, workflowId, args: [{}] });
    const report = await handle.result();

    assert.deepEqual(report.checks.map((c) => c.name), EXPECTED_CHECKS);
    for (const c of report.checks) {
      assert.ok(['pass', 'warn', 'fail'].includes(c.status), `${c.name} has a status`);
      assert.ok(c.detail.length > 0, `${c.name} has a reason`);
    }
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => c.status === 'fail')));
    assert.equal(report.checks.find((c) => c.name === 'pgvector')?.value, '0.8.0');
    // pgvector 0.8.0 has three fixed bugs this project triggers: named, with their fix versions; a warning outside production.
    const advisories = report.checks.find((c) => c.name === 'pgvector_advisories')!;
    assert.equal(advisories.status, 'warn');
    assert.equal(advisories.value, '0.8.0: 3 fixed bugs apply');
    for (const named of [/CVE-2026-3172: buffer overflow in parallel HNSW index builds, fixed in 0\.8\.2 \(pgvector issue 959\)/,
      /HNSW vacuuming can corrupt the index, fixed in 0\.8\.3/, /"hnsw graph not repaired", fixed in 0\.8\.4/, /Upgrade pgvector to >= 0\.8\.4/]) {
      assert.match(advisories.detail, named);
    }
    assert.match(report.checks.find((c) => c.name === 'max_parallel_maintenance_workers')!.detail, /without parallel workers regardless \(pgvector 0\.8\.0 < 0\.8\.2: CVE-2026-3172\)/);
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
    const report = (await client.workflow.execute(preflight, {
      taskQueue: config.temporal.taskQueue,
      workflowId: uniqueName('preflight-big'),
      args: [{ targetTraces: 50_000_000 }],
    }));
    const shared = report.checks.find((c) => c.name === 'shared_buffers');
    assert.equal(shared?.status, 'warn');
    assert.match(shared?.detail ?? '', /HNSW \(halfvec\) for 50,000,000 × 1536 needs ~[\d.]+ GiB; searches will read the index from disk/);
    assert.equal(report.ok, true, 'warnings do not fail preflight');
  });
});

test('with APP_ENV=production, pgvector below the CVE-2026-3172 fix (0.8.2) fails preflight', async (t) => {
  const config = testConfig({ appEnv: 'production' });
  const worker = await startWorker(config);
  t.after(() => worker.stop());
  await withClient(config, async (client) => {
    const report = (await client.workflow.execute(preflight, {
      taskQueue: config.temporal.taskQueue,
      workflowId: uniqueName('preflight-prod'),
      args: [{}],
    }));
    const advisories = report.checks.find((c) => c.name === 'pgvector_advisories');
    assert.equal(advisories?.status, 'fail');
    assert.match(advisories?.detail ?? '', /production refuses versions below the CVE fix/);
    assert.equal(report.ok, false);
  });
});

test('an unreachable Redis is a fail with the reason, not a hang', async (t) => {
  const config = testConfig({ redisUrl: 'redis://127.0.0.1:1' });
  const worker = await startWorker(config);
  t.after(() => worker.stop());
  await withClient(config, async (client) => {
    const report = (await client.workflow.execute(preflight, {
      taskQueue: config.temporal.taskQueue,
      workflowId: uniqueName('preflight-noredis'),
      args: [{}],
    }));
    const redis = report.checks.find((c) => c.name === 'redis');
    assert.equal(redis?.status, 'fail');
    assert.match(redis?.detail ?? '', /redis:\/\/127\.0\.0\.1:1: .*Start Redis or fix REDIS_URL/);
    assert.equal(report.ok, false);
  });
});
