/**
 * The search API over the capacity database, for the benchmark's HTTP phases: the same server code
 * as production's, in a child process of the worker (so the load generator never shares its event
 * loop), listening on a free loopback port. Started on first use, reused by later phases, restarted
 * if it died, and stopped with the worker; it exits by itself if the worker is killed.
 */
import type { ActivityDeps } from '../activities/deps.js';
import type { Config } from '../config.js';
import type { IndexType } from '../db/index-types.js';
import { startChildApi, type ChildApi } from './child.js';

/** The worker's settings as the child's environment, with the capacity database as its database. */
export function capacityApiEnv(config: Config, indexType: IndexType | null = config.search.indexType): Record<string, string> {
  const { embedding, rateLimit, api } = config;
  return {
    APP_ENV: config.appEnv,
    DATABASE_URL: config.capacityDatabaseUrl,
    // The child runs no capacity job; blank means the default, so it never names its own database.
    CAPACITY_DATABASE_URL: '',
    REDIS_URL: config.redisUrl,
    EMBEDDING_PROVIDER: embedding.provider,
    ...(embedding.openaiApiKey && { OPENAI_API_KEY: embedding.openaiApiKey }),
    ...(embedding.openaiBaseUrl && { OPENAI_BASE_URL: embedding.openaiBaseUrl }),
    RATE_LIMIT_READ_PER_MINUTE: String(rateLimit.readPerMinute),
    RATE_LIMIT_WRITE_PER_MINUTE: String(rateLimit.writePerMinute),
    RATE_LIMIT_REGISTER_PER_MINUTE: String(rateLimit.registerPerMinute),
    RATE_LIMIT_FAIL_MODE: rateLimit.failMode,
    API_BODY_LIMIT_BYTES: String(api.bodyLimitBytes),
    API_KEY_CACHE_TTL_MS: String(api.keyCacheTtlMs),
    API_KEY_CACHE_MAX: String(api.keyCacheMax),
    API_DB_POOL_SIZE: String(api.dbPoolSize),
    // The benchmark's index type when it names one: the capacity database may hold both indexes.
    SEARCH_INDEX_TYPE: indexType ?? 'auto',
  };
}

const children = new WeakMap<ActivityDeps, { indexType: IndexType | null; child: Promise<ChildApi> }>();

/** The running child, or a new one; a child searching another index type is stopped and replaced. */
export async function ensureCapacityApi(deps: ActivityDeps, indexType: IndexType | null = deps.config.search.indexType): Promise<{ baseUrl: string; pid: number | undefined }> {
  const entry = children.get(deps);
  const running = await entry?.child.catch(() => undefined);
  if (running?.alive() && entry?.indexType === indexType) return { baseUrl: running.url, pid: running.pid };
  if (running?.alive()) await running.stop();
  const starting = startChildApi(capacityApiEnv(deps.config, indexType));
  children.set(deps, { indexType, child: starting });
  const child = await starting;
  return { baseUrl: child.url, pid: child.pid };
}

export async function stopCapacityApi(deps: ActivityDeps): Promise<void> {
  const running = children.get(deps)?.child;
  children.delete(deps);
  await (await running?.catch(() => undefined))?.stop();
}
