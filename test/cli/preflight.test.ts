import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCliInProcess as runCli } from '../helpers/cli-in-process.js';
import { startWorker, testConfig, uniqueName } from '../helpers/env.js';

test('`preflight --json` prints every check and exits 0 when nothing fails', async (t) => {
  const config = testConfig();
  const worker = await startWorker(config);
  t.after(() => worker.stop());
  const result = await runCli(['preflight', '--json', '--wait-worker', '30'], { TEMPORAL_TASK_QUEUE: config.temporal.taskQueue });
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { workflowId: string; ok: boolean; checks: { name: string; status: string; value: string; detail: string }[] };
  assert.equal(report.ok, true);
  assert.match(report.workflowId, /^preflight-/);
  assert.equal(report.checks.length, 11);
  const capacity = report.checks.find((c) => c.name === 'capacity_database');
  assert.equal(capacity?.status, 'pass', JSON.stringify(capacity));
  assert.ok(`${capacity.value} ${capacity.detail}`.includes(new URL(config.capacityDatabaseUrl).pathname.slice(1)), JSON.stringify(capacity));
});

test('the table form lists the checks and a summary line', async (t) => {
  const config = testConfig();
  const worker = await startWorker(config);
  t.after(() => worker.stop());
  const result = await runCli(['preflight', '--wait-worker', '30'], { TEMPORAL_TASK_QUEUE: config.temporal.taskQueue });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^check\s+status\s+value\s+detail/m);
  assert.match(result.stdout, /^pgvector\s+PASS\s+0\.8\.0/m);
  assert.match(result.stdout, /^\d+ pass, \d+ warn, 0 fail$/m);
  assert.ok(result.stderr.includes(`http://127.0.0.1:8233/namespaces/${config.temporal.namespace}/workflows/preflight-`), result.stderr);
});

test('a fail check makes the CLI exit 1', async (t) => {
  const config = testConfig();
  const worker = await startWorker({ ...config, redisUrl: 'redis://127.0.0.1:1' });
  t.after(() => worker.stop());
  const result = await runCli(['preflight', '--wait-worker', '30'], { TEMPORAL_TASK_QUEUE: config.temporal.taskQueue });
  assert.equal(result.code, 1);
  assert.match(result.stdout, /^redis\s+FAIL\s+unreachable/m);
});

test('no worker on the task queue is a clear error, not a queued workflow', async () => {
  const result = await runCli(['preflight'], { TEMPORAL_TASK_QUEUE: uniqueName('nobody-home') });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /No worker is polling task queue "nobody-home-[0-9a-f]+"\. Start one with `npm run worker`/);
});

test('an unreachable Temporal server is a clear error', async () => {
  const result = await runCli(['preflight'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /Cannot reach the Temporal server at 127\.0\.0\.1:1: .*npm run stack:up/);
});

test('bad configuration fails before connecting, listing every problem', async () => {
  const result = await runCli(['preflight'], { APP_ENV: 'prod', REDIS_URL: 'nope' });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /Invalid configuration \(2 problems\)/);
  assert.match(result.stderr, /APP_ENV: expected development, staging or production/);
});
