/**
 * The search API under test: a Fastify app built from injected dependencies, so the CLI, a worker
 * and tests can each run one (or several) in a process.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type pg from 'pg';
import { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { createPool } from '../db/client.js';
import { servingSessionOptions } from '../db/hnsw.js';
import { warmSearchPool } from '../search/warm-pool.js';
import { createEmbedder, type Embedder } from '../embeddings/index.js';
import { TokenBucket } from '../ratelimit/token-bucket.js';
import { createApiKeyCache, type ApiKeyCache } from './auth.js';
import { createApiMetrics } from './metrics.js';
import { registerRoutes } from './routes.js';
import { logger as rootLogger, quietChild, rateLimitedWarn, type Logger } from '../logger.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's API-key cache: invalidate(hash) / clear() make a revocation effective here at once. */
    apiKeys: ApiKeyCache;
  }
}

/** The API's database connections, as pg_stat_activity shows them. */
export const API_APPLICATION_NAME = 'commontrace-api';

export interface ApiDeps {
  config: Config;
  pool: pg.Pool;
  redis: Redis;
  embedder: Embedder;
}

export interface ApiOptions {
  /**
   * The logger Fastify uses (request logs, limiter failures, 5xx errors). Default: a child of the
   * root logger at warn (the API a worker or a benchmark runs must not log every request); false: none.
   */
  logger?: Logger | false;
  limiterTimeoutMs?: number;
}

const ERROR_NAMES: Record<number, string> = {
  400: 'bad_request',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

export function createApiServer(deps: ApiDeps, options: ApiOptions = {}): FastifyInstance {
  const { config } = deps;
  // With API_TRUST_PROXY, request.ip (what the register limit counts) comes from X-Forwarded-For.
  const log = options.logger ?? quietChild(rootLogger, { component: 'api' }, 'warn');
  // Typed as Fastify's base logger so the instance keeps the FastifyInstance type routes are written for.
  const loggerInstance: FastifyBaseLogger | undefined = log || undefined;
  const app = Fastify({ loggerInstance, bodyLimit: config.api.bodyLimitBytes, trustProxy: config.api.trustProxy });
  const metrics = createApiMetrics();
  const apiKeys = createApiKeyCache(deps.pool, { ttlMs: config.api.keyCacheTtlMs, max: config.api.keyCacheMax });
  app.decorate('apiKeys', apiKeys);
  app.decorateRequest('userId', '');
  app.decorateRequest('apiKeyHash', '');
  app.decorateRequest('timings', null);

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.code(status).send({ error: 'internal_error', message: 'The server failed to handle the request; it has been logged.' });
    }
    const message = status === 413 ? `The request body is larger than ${config.api.bodyLimitBytes} bytes.` : err.message;
    return reply.code(status).send({ error: ERROR_NAMES[status] ?? 'bad_request', message });
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequests.inc({ route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) });
  });

  registerRoutes(app, { ...deps, limiter: new TokenBucket(deps.redis, options.limiterTimeoutMs), metrics, apiKeys });
  return app;
}

export interface RunningApi {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8787 */
  url: string;
  /** Stops listening, then closes the resources this call created (never injected ones). */
  close(): Promise<void>;
}

export interface StartApiOptions extends ApiOptions {
  /** Injected resources are used and left open; missing ones are created and closed with the API. */
  deps?: Partial<Omit<ApiDeps, 'config'>>;
  host?: string;
  port?: number;
}

/** Starts an API on host:port (config.api by default; port 0 picks a free one). */
export async function startApiServer(config: Config, options: StartApiOptions = {}): Promise<RunningApi> {
  const owned: (() => Promise<unknown>)[] = [];
  // A fixed-size pool (min = max): its connections are opened and warmed below, and never closed for idling.
  const size = config.api.dbPoolSize;
  const pool = options.deps?.pool ?? createPool(config.databaseUrl, { max: size, min: size, application_name: API_APPLICATION_NAME, options: servingSessionOptions() });
  if (!options.deps?.pool) owned.push(() => pool.end());
  let redis = options.deps?.redis;
  if (!redis) {
    // No offline queue: while Redis is down a take fails at once, and the fail mode decides.
    const own = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3_000, lazyConnect: true });
    // Logged even when the API's own logger is off (tests): a Redis outage is never silent.
    const warn = rateLimitedWarn((options.logger || rootLogger).child({ component: 'redis', redis: 'api' }));
    own.on('error', (err) => warn(err, `Redis connection error (the rate limiter fails ${config.rateLimit.failMode} meanwhile)`));
    await own.connect().catch(() => undefined);
    owned.push(async () => own.disconnect());
    redis = own;
  }
  const embedder = options.deps?.embedder ?? createEmbedder(config);
  const app = createApiServer({ config, pool, redis, embedder }, options);
  if (!options.deps?.pool) {
    // Not fatal: a database that is down now is the first searches' problem (they answer 503), not startup's.
    await warmSearchPool(pool, { size, modelId: embedder.modelId, ...(config.search.indexType && { indexType: config.search.indexType }) }).catch((err: unknown) =>
      (options.logger || rootLogger).warn({ err, component: 'api' }, 'could not warm the database pool; connections open on first use'));
  }
  const close = async () => {
    await app.close();
    await Promise.allSettled(owned.map((fn) => fn()));
  };
  try {
    // A deep accept queue: the many-users check opens every user's connections at the same moment.
    const url = await app.listen({ host: options.host ?? config.api.host, port: options.port ?? config.api.port, backlog: 2_048 });
    return { app, url, close };
  } catch (err) {
    await close();
    throw err;
  }
}
