import proto from '@temporalio/proto';
import type { Client } from '@temporalio/client';

const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;

export class NoWorkerError extends Error {
  constructor(taskQueue: string) {
    super(
      `No worker is polling task queue "${taskQueue}". Start one with \`npm run worker\` ` +
        '(or run the README main command, which starts it for you), then try again.',
    );
    this.name = 'NoWorkerError';
  }
}

async function pollerCount(client: Client, namespace: string, taskQueue: string): Promise<number> {
  const response = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (response.pollers ?? []).length;
}

/**
 * Refuses to start a workflow that nothing would run, instead of leaving it silently queued.
 * `waitSeconds` gives a worker that is still starting up (bundling workflows) time to poll.
 */
export async function assertWorkerPolling(client: Client, namespace: string, taskQueue: string, waitSeconds = 0): Promise<void> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    if ((await pollerCount(client, namespace, taskQueue)) > 0) return;
    if (Date.now() >= deadline) throw new NoWorkerError(taskQueue);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
