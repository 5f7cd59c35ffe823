/**
 * The worker: runs every workflow and activity on the `launch-readiness` task queue. Any number of
 * replicas can run against the same cluster; capacity batches spread across them.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IllegalStateError, type LogLevel } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from './config.js';
import { createPool } from './db/client.js';
import { createActivities, type ActivityDeps } from './activities/index.js';
import { createEmbedder } from './embeddings/index.js';
import { temporalConnectionOptions, TemporalUnreachableError } from './temporal.js';
import { stopLocalApiServer } from './api/local.js';
import { stopCapacityApi } from './api/capacity-api.js';
import { logger, rateLimitedWarn, type Logger } from './logger.js';
import { workflowCodeOption } from './workflow-bundle.js';


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
  const warn = rateLimitedWarn(logger.child({ component: 'redis', redis: 'worker' }));
  redis.on('error', (err) => warn(err, 'Redis connection error'));
  return { config, pool, capacityPool, redis, embedder: createEmbedder(config) };
}

/** The most verbose Temporal level pino would still print at `level` (pino filters the rest). */
function temporalLevel(log: Logger): LogLevel {
  const value = log.levelVal;
  const { values } = log.levels;
  if (value <= values.trace!) return 'TRACE';
  if (value <= values.debug!) return 'DEBUG';
  if (value <= values.info!) return 'INFO';
  if (value <= values.warn!) return 'WARN';
  return 'ERROR';
}

/**
 * A Temporal `Logger` writing into `log`: what the SDK logs (worker state, Core's native messages)
 * and what workflow `log` and activity `log` calls write, their ids (workflowId, runId, activityId,
 * activityType, attempt…) as fields. The activity task token (long, opaque) is left out, and the
 * bundler's webpack statistics (twenty lines when the worker starts) go to debug.
 */
export function temporalLogger(log: Logger): DefaultLogger {
  return new DefaultLogger(temporalLevel(log), ({ level, message, meta }) => {
    const { taskToken: _taskToken, ...fields } = meta ?? {};
    const pinoLevel = message.startsWith('asset workflow-bundle-') ? 'debug' : (level.toLowerCase() as Lowercase<LogLevel>);
    log[pinoLevel](fields, message);
  });
}

/**
 * Routes the Temporal SDK's logging into the root logger (see temporalLogger), Core's native
 * messages included (forwarded, WARN and above). Runtime.install works once per process and only
 * before the first connection; when a runtime is already there (tests install their own) this
 * leaves it and returns false.
 */
export function installTemporalLogging(log: Logger = logger): boolean {
  try {
    Runtime.install({
      logger: temporalLogger(log.child({ component: 'temporal' })),
      telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
    });
    return true;
  } catch (err) {
    if (err instanceof IllegalStateError) return false;
    throw err;
  }
}

export async function createWorker(
  config: Config,
  overrides: Partial<WorkerOptions> = {},
  depOverrides: Partial<ActivityDeps> = {},
): Promise<RunningWorker> {
  installTemporalLogging();
  const workflowCode = overrides.workflowBundle || overrides.workflowsPath ? {} : workflowCodeOption(config.temporal.workflowBundlePath);
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
    ...workflowCode,
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
  logger.info(
    { taskQueue: config.temporal.taskQueue, address: config.temporal.address, namespace: config.temporal.namespace, webUi: config.temporal.uiUrl },
    `worker polling task queue "${config.temporal.taskQueue}"`,
  );
  try {
    await running.worker.run(); // returns after SIGINT/SIGTERM once in-flight tasks drain
  } finally {
    await running.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: Error) => {
    // ConfigError / TemporalUnreachableError messages say what to fix; anything else keeps its stack.
    logger.fatal({ err }, err.message);
    process.exit(1);
  });
}
