import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection, WorkflowClient, WorkflowNotFoundError } from '@temporalio/client';
import { baseConfig, startWorker, testConfig, TEST_NAMESPACE, uniqueName, withClient } from '../helpers/env.js';
import { preflight } from '../../src/workflows/preflight.js';

test('test workflows run in the test namespace, never in the operator\'s default', async (t) => {
  assert.equal(baseConfig.temporal.namespace, TEST_NAMESPACE);
  const config = testConfig();
  const worker = await startWorker(config);
  t.after(() => worker.stop());
  const workflowId = uniqueName('namespace-probe');
  await withClient(config, (client) =>
    client.workflow.execute(preflight, { taskQueue: config.temporal.taskQueue, workflowId, args: [{}] }),
  );
  await withClient(config, async (client) => {
    const described = await client.workflow.getHandle(workflowId).describe();
    assert.equal(described.status.name, 'COMPLETED');
  });
  // The same id in `default` does not exist: the suite leaves the operator's namespace alone.
  const connection = await Connection.connect({ address: baseConfig.temporal.address });
  try {
    const operator = new WorkflowClient({ connection, namespace: 'default' });
    await assert.rejects(operator.getHandle(workflowId).describe(), WorkflowNotFoundError);
  } finally {
    await connection.close();
  }
});
