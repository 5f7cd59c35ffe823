/**
 * Test harness against the real stack (scripts/test.sh brings it up and points DATABASE_URL at the
 * commontrace_test database): workers and clients on the test config (config.ts, re-exported here).
 * Each test file gets its own task queue so files never steal each other's workflow tasks.
 */
import { DefaultLogger, Runtime, type WorkflowBundleOption, type WorkerOptions } from '@temporalio/worker';
import type { Config } from '../../src/config.js';
import { withTemporalClient } from '../../src/cli/run-workflow.js';
import { createWorker, type RunningWorker } from '../../src/worker.js';
import { bundleWorkflows, workflowCodeOption } from '../../src/workflow-bundle.js';
import type { ActivityDeps } from '../../src/activities/deps.js';
import { baseConfig, uniqueName } from './config.js';

export { adminUrl, baseConfig, dropDatabase, TEST_NAMESPACE, testConfig, uniqueName } from './config.js';

// Worker lifecycle chatter drowns the test output; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

let bundle: Promise<WorkflowBundleOption> | undefined;
/**
 * Bundling takes seconds of CPU: scripts/test.sh builds one bundle per run (TEMPORAL_WORKFLOW_BUNDLE)
 * for every test file and the workers they spawn; a file run by hand bundles once for all its workers.
 */
export function workflowBundle(): Promise<WorkflowBundleOption> {
  bundle ??= Promise.resolve(workflowCodeOption(baseConfig.temporal.workflowBundlePath).workflowBundle ?? bundleWorkflows());
  return bundle;
}

export async function startWorker(
  config: Config,
  overrides: Partial<WorkerOptions> = {},
  depOverrides: Partial<ActivityDeps> = {},
): Promise<RunningWorker & { stop(): Promise<void> }> {
  const running = await createWorker(config, { workflowBundle: await workflowBundle(), workflowsPath: undefined, ...overrides }, depOverrides);
  const done = running.worker.run();
  return {
    ...running,
    async stop() {
      running.worker.shutdown();
      await done;
      await running.close();
    },
  };
}

/** A client on the test config's connection, closed afterwards. */
export const withClient = withTemporalClient;

/** Runs a workflow, referenced by its function, to its result on the config's task queue. */
export function executeWorkflow<TInput, TResult>(
  config: Config, workflow: (input: TInput) => Promise<TResult>, input: TInput, workflowId = uniqueName(workflow.name),
): Promise<TResult> {
  return withClient(config, (client) => client.workflow.execute(workflow, { taskQueue: config.temporal.taskQueue, workflowId, args: [input] }));
}

/** Starts a workflow, referenced by its function, on the config's task queue; the handle's result is typed. */
export function startWorkflow<TInput, TResult>(
  config: Config, workflow: (input: TInput) => Promise<TResult>, input: TInput, workflowId = uniqueName(workflow.name),
) {
  return withClient(config, (client) => client.workflow.start(workflow, { taskQueue: config.temporal.taskQueue, workflowId, args: [input] }));
}
