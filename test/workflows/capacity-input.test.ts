/**
 * Bad inputs of the capacity workflows fail the workflow at once, before any activity, with a
 * non-retryable InvalidCapacityInput naming the field (a batch size of 0 would loop forever).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { startWorker, testConfig, uniqueName, withClient } from '../helpers/env.js';

const config = testConfig();
let worker: Awaited<ReturnType<typeof startWorker>>;

before(async () => {
  worker = await startWorker(config);
});
after(async () => {
  await worker.stop();
});

// By type name and with untyped input on purpose: these inputs are the ill-formed ones a typed call could not send.
async function rejected(type: string, input: Record<string, unknown>, message: RegExp): Promise<void> {
  await withClient(config, async (client) => {
    const workflowId = uniqueName(type);
    const handle = await client.workflow.start(type, { taskQueue: config.temporal.taskQueue, workflowId, args: [input] });
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError, `${type} ${JSON.stringify(input)}: ${String(err)}`);
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'InvalidCapacityInput');
      assert.equal(err.cause.nonRetryable, true);
      assert.match(err.cause.message, message);
      return true;
    });
    const history = await handle.fetchHistory();
    const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
    assert.equal(scheduled, 0, `${type} ${JSON.stringify(input)} scheduled no activity`);
  });
}

test('capacityPopulation: batchSize 0, negative and huge are refused, naming the field and the range', async () => {
  await rejected('capacityPopulation', { total: 100, clusters: 10, batchSize: 0 }, /^batchSize must be an integer from 1 to 100,000, got 0;/);
  await rejected('capacityPopulation', { total: 100, clusters: 10, batchSize: -50 }, /^batchSize must be an integer from 1 to 100,000, got -50;/);
  await rejected('capacityPopulation', { total: 100, clusters: 10, batchSize: 1_000_000_000 }, /^batchSize must be an integer from 1 to 100,000, got 1000000000;/);
  await rejected('capacityPopulation', { total: 0 }, /^total must be an integer from 1 to 10,000,000, got 0;/);
  await rejected('capacityPopulation', { total: 100, clusters: 101 }, /^clusters must be an integer from 1 to 100, got 101;/);
  await rejected('capacityPopulation', { total: 100, clusters: 10, concurrency: 0 }, /^concurrency must be an integer from 1 to 16, got 0;/);
  await rejected('capacityPopulation', { total: 100, clusters: 10, sigma: -0.1 }, /^sigma must be a finite number > 0, got -0\.1;/);
  await rejected('capacityPopulation', { total: 100, clusters: 10, dimensions: 3 }, /^dimensions must be 1536 .*got 3;/);
  await rejected('capacityPopulation', { total: 100, clusters: 10, runKey: '  ' }, /^runKey must be a non-blank string/);
});

test('capacityCleanup, indexBuild and capacityRecheck check their inputs too', async () => {
  await rejected('capacityCleanup', { batchSize: 0 }, /^batchSize must be an integer from 1 to 100,000, got 0;/);
  await rejected('capacityCleanup', { batchSize: 1e9 }, /^batchSize must be an integer from 1 to 100,000, got 1000000000;/);
  await rejected('indexBuild', { parallelWorkers: -1 }, /^parallelWorkers must be an integer from 0 to 64, got -1;/);
  await rejected('indexBuild', { maintenanceWorkMemCapMb: 0 }, /^maintenanceWorkMemCapMb must be an integer from 1 to 1,048,576, got 0;/);
  await rejected('capacityRecheck', { traces: 0 }, /^traces must be an integer from 1 to 10,000,000, got 0;/);
  await rejected('capacityRecheck', { traces: 1_000, maxRecallDrop: 2 }, /^maxRecallDrop must be a finite number from 0 to 1, got 2;/);
});
