import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { connectClient, rootCauseMessage, workflowUiUrl } from '../temporal.js';
import { assertWorkerPolling } from './worker-check.js';

export interface WorkflowCommand<TInput, TResult extends object> {
  /** The workflow function (imported from src/workflows): its name is the workflow type, its signature types input and result. */
  workflow: (input: TInput) => Promise<TResult>;
  idPrefix: string;
  input: TInput;
  staticSummary: string;
  json?: boolean;
  waitWorker?: number;
  format: (result: TResult) => string;
  /** Exit code for a completed run (e.g. 1 when a check failed). */
  exitCode?: (result: TResult) => number;
}

export function newWorkflowId(prefix: string): string {
  return `${prefix}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
}

export async function withTemporalClient<T>(config: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient(config);
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

/** Starts a workflow, prints where to watch it, waits, prints the result; returns the exit code. */
export async function runWorkflowCommand<TInput, TResult extends object>(config: Config, cmd: WorkflowCommand<TInput, TResult>): Promise<number> {
  return withTemporalClient(config, async (client) => {
    await assertWorkerPolling(client, config.temporal.namespace, config.temporal.taskQueue, cmd.waitWorker ?? 0);
    const workflowId = newWorkflowId(cmd.idPrefix);
    const workflowType = cmd.workflow.name;
    const handle = await client.workflow.start(cmd.workflow, {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [cmd.input],
      staticSummary: cmd.staticSummary,
    });
    console.error(`${workflowType} ${workflowId} started — ${workflowUiUrl(config, workflowId, handle.firstExecutionRunId)}`);
    try {
      const result = await handle.result();
      console.log(cmd.json ? JSON.stringify({ workflowId, ...result }, null, 2) : cmd.format(result));
      return cmd.exitCode?.(result) ?? 0;
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      const cause = rootCauseMessage(err);
      if (cmd.json) console.log(JSON.stringify({ workflowId, failed: true, error: cause }, null, 2));
      else console.error(`${workflowType} ${workflowId} failed: ${cause}`);
      return 1;
    }
  });
}
