/**
 * The worker: runs every workflow and activity on the `launch-readiness` task queue. Any number of
 * replicas can run against the same cluster; capacity batches spread across them.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from './config.js';
import { createPool } from './db/client.js';
import { createActivities, type ActivityDeps } from './activities/index.js';
import { createEmbedder } from './embeddings/index.js';
import { temporalConnectionOptions, TemporalUnreachableError } from './temporal.js';
import { stopLocalApiServer } from './api/local.js';
import { stopCapacityApi } from './api/capacity-api.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface RunningWorker {
  worker: Worker;
  deps: ActivityDeps;
  /** Closes the database pool, Redis and the Temporal connection after the worker stops. */
  close(): Promise<void>;
}

export function createDeps(config: Config): ActivityDeps {
  const pool = createPool(config.databaseUrl, { max: 20 });
  // Connects on first use: the capacity database is created by the first capacity run (prepareCapacityRun).
  const capacityPool = createPool(config.capacityDatabaseUrl, { max: 20, application_name: 'commontrace-launch:capacity' });
  // Fail fast when Redis is down: activities report it; Temporal's retry policy decides what next.
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 3_000, lazyConnect: true });
  redis.on('error', () => undefined);
  return { config, pool, capacityPool, redis, embedder: createEmbedder(config) };
}

export async function createWorker(
  config: Config,
  overrides: Partial<WorkerOptions> = {},
  depOverrides: Partial<ActivityDeps> = {},
): Promise<RunningWorker> {
  const deps = { ...createDeps(config), ...depOverrides };
  const options = temporalConnectionOptions(config);
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(options);
  } catch (err) {
    await Promise.allSettled([deps.pool.end(), deps.capacityPool.end(), deps.redis.quit()]);
    throw new TemporalUnreachableError(options.address, err);
  }
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: createActivities(deps),
    // A workflow task addressed to a worker that has died waits this long on its sticky queue before
    // any worker may take it (default 10 s, which stalled a capacity run that long after a SIGKILL).
    // A live worker always has a sticky poll waiting, so a short value costs nothing.
    stickyQueueScheduleToStartTimeout: '2s',
    ...overrides,
  });
  return {
    worker,
    deps,
    async close() {
      // The API some workflows serve from this worker uses its pool and Redis: stop it first.
      await Promise.allSettled([stopLocalApiServer(deps), stopCapacityApi(deps)]);
      await Promise.allSettled([deps.pool.end(), deps.capacityPool.end(), deps.redis.quit(), connection.close()]);
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const running = await createWorker(config);
  console.log(
    `[worker] polling task queue "${config.temporal.taskQueue}" on ${config.temporal.address} ` +
      `(namespace ${config.temporal.namespace}); Web UI ${config.temporal.uiUrl}`,
  );
  try {
    await running.worker.run(); // returns after SIGINT/SIGTERM once in-flight tasks drain
  } finally {
    await running.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: Error) => {
    console.error(`[worker] ${err.message}`);
    process.exit(1);
  });
}
