/** The CommonTrace endpoints under test: accounts (./account.ts), search, contribute, health and metrics. */
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { withTransaction } from '../db/client.js';
import { replaceTraceTags } from '../db/trace-tags.js';
import type { Embedder } from '../embeddings/embedder.js';
import { searchTracesTimed } from '../search/search.js';
import { normalizeTag } from '../tags.js';
import type { TokenBucket } from '../ratelimit/token-bucket.js';
import { registerAccountRoutes } from './account.js';
import { authenticate, type ApiKeyCache } from './auth.js';
import { observeSearchStages, serverTimingHeader, timedHook, type ApiMetrics } from './metrics.js';
import { SERVICE_NAME } from './health.js';
import { rateLimit } from './rate-limit.js';
import { contributeBody, parseBody, searchBody } from './schemas.js';

const HEALTH_TIMEOUT_MS = 1_000;

export interface RouteContext {
  config: Config;
  pool: pg.Pool;
  redis: Redis;
  embedder: Embedder;
  limiter: TokenBucket;
  metrics: ApiMetrics;
  apiKeys: ApiKeyCache;
}

async function probe(check: () => Promise<unknown>): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([check(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), HEALTH_TIMEOUT_MS)))]);
    return 'ok';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

export function registerRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { config, pool, embedder, limiter, metrics } = ctx;
  const authed = authenticate(ctx.apiKeys);

  registerAccountRoutes(app, ctx);

  // Both hooks are timed so the response can say where its time went (Server-Timing, stage histogram).
  const searchHooks = [timedHook('auth', authed), timedHook('limit', rateLimit('read', limiter, config.rateLimit, metrics))];
  app.post('/api/v1/traces/search', { onRequest: searchHooks }, async (request, reply) => {
    const body = parseBody(searchBody, request.body, reply);
    if (!body) return reply;
    const stop = metrics.searchDuration.startTimer();
    try {
      const result = await searchTracesTimed(pool, embedder, body.q, {
        k: body.limit, tags: body.tags.map(normalizeTag), ...(config.search.indexType && { indexType: config.search.indexType }),
      });
      const stages = {
        auth: request.timings?.auth ?? 0,
        limit: request.timings?.limit ?? 0,
        embed: result.timing.embedMs,
        db: result.timing.dbMs,
        rerank: result.timing.rerankMs,
      };
      observeSearchStages(metrics, stages);
      if (result.widened) metrics.searchWidened.inc();
      if (!result.certified) metrics.searchUncertified.inc();
      reply.header('Server-Timing', serverTimingHeader(stages));
      return {
        count: result.hits.length,
        model: embedder.modelId,
        results: result.hits.map((h) => ({
          id: h.id,
          title: h.title,
          seed_key: h.seedKey,
          status: h.status,
          similarity: h.similarity,
          trust_score: h.trustScore,
          score: h.score,
          tags: h.tags,
        })),
      };
    } finally {
      stop();
    }
  });

  app.post('/api/v1/traces', { onRequest: [authed, rateLimit('write', limiter, config.rateLimit, metrics)] }, async (request, reply) => {
    const body = parseBody(contributeBody, request.body, reply);
    if (!body) return reply;
    // A contribution waits for validation; the embedding backfill picks up its NULL embedding.
    const id = await withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO traces (title, context_text, solution_text, status, contributor_id, agent_model, agent_version)
         VALUES ($1, $2, $3, 'pending', $4, $5, $6) RETURNING id`,
        [body.title, body.context, body.solution, request.userId, body.agent_model ?? null, body.agent_version ?? null],
      );
      await replaceTraceTags(client, rows[0]!.id, body.tags);
      return rows[0]!.id;
    });
    return reply.code(201).send({ id, status: 'pending', tags: body.tags });
  });

  app.get('/healthz', async (_request, reply) => {
    const [database, redis] = await Promise.all([probe(() => pool.query('SELECT 1')), probe(() => ctx.redis.ping())]);
    // Without Redis a fail-open API still serves (unlimited); a fail-closed one refuses everything.
    const serving = database === 'ok' && (redis === 'ok' || config.rateLimit.failMode === 'open');
    const status = database === 'ok' && redis === 'ok' ? 'ok' : serving ? 'degraded' : 'down';
    return reply.code(serving ? 200 : 503).send({ service: SERVICE_NAME, status, database, redis, fail_mode: config.rateLimit.failMode });
  });

  app.get('/metrics', async (_request, reply) => {
    return reply.header('Content-Type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
