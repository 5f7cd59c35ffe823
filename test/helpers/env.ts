/**
 * Test harness against the real stack (scripts/test.sh brings it up and points DATABASE_URL at the
 * commontrace_test database). Each test file gets its own task queue so files never steal each
 * other's workflow tasks.
 */
import { randomUUID } from 'node:crypto';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleOption, type WorkerOptions } from '@temporalio/worker';
import pg from 'pg';
import { withDatabase } from '../../src/db/database-url.js';
import { loadConfig, type Config } from '../../src/config.js';
import { withTemporalClient } from '../../src/cli/run-workflow.js';
import { createWorker, type RunningWorker } from '../../src/worker.js';
import { WORKFLOWS_PATH, workflowCodeOption } from '../../src/workflow-bundle.js';
import type { ActivityDeps } from '../../src/activities/deps.js';

// Worker lifecycle chatter drowns the test output; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

/**
 * Test workflows and schedules live in their own namespace (scripts/test.sh creates it), so the Web
 * UI's `default` shows only what operators started. Set here too, so a single test file run by hand
 * and the CLI processes tests spawn use it as well.
 */
export const TEST_NAMESPACE = 'commontrace-test';
process.env.TEMPORAL_NAMESPACE ||= TEST_NAMESPACE;

export const baseConfig: Config = loadConfig();

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A config on its own task queue, optionally with other overrides. */
export function testConfig(overrides: { taskQueue?: string } & Partial<Omit<Config, 'temporal'>> = {}): Config {
  const { taskQueue, ...rest } = overrides;
  return {
    ...baseConfig,
    ...rest,
    temporal: { ...baseConfig.temporal, taskQueue: taskQueue ?? uniqueName('test') },
  };
}

let bundle: Promise<WorkflowBundleOption> | undefined;
/**
 * Bundling takes seconds of CPU: scripts/test.sh builds one bundle per run (TEMPORAL_WORKFLOW_BUNDLE)
 * for every test file and the workers they spawn; a file run by hand bundles once for all its workers.
 */
export function workflowBundle(): Promise<WorkflowBundleOption> {
  const prebuilt = workflowCodeOption(baseConfig.temporal.workflowBundlePath).workflowBundle;
  bundle ??= prebuilt ? Promise.resolve(prebuilt) : bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  return bundle;
}

const quietLogger = {
  log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined,
  warn: (m: string) => console.warn(m), error: (m: string) => console.error(m),
};

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

export const adminUrl = withDatabase;

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const client = new pg.Client({ connectionString: adminUrl(databaseUrl, 'postgres') });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
