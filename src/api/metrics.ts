/**
 * Prometheus metrics of one API instance, and the per-stage timing of searches behind both the stage
 * histogram and the Server-Timing header. Each app gets its own Registry, so several servers in one
 * process (tests, a worker serving the API while a benchmark starts another) never collide on names.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Histogram, Registry } from 'prom-client';
import { BUCKET_NAMES } from '../ratelimit/token-bucket.js';

/** Search latency buckets (seconds), from the launch criteria: 50 ms is the p99 target. */
export const SEARCH_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2];

/** Where a search's time goes, in request order: the two onRequest hooks, then searchTracesTimed. */
export const SEARCH_STAGES = ['auth', 'limit', 'embed', 'db', 'rerank'] as const;
export type SearchStage = (typeof SEARCH_STAGES)[number];
export type StageDurations = Record<SearchStage, number>;
/** The stages that run as onRequest hooks, timed on the request as they run. */
export type HookStage = Extract<SearchStage, 'auth' | 'limit'>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Milliseconds each timed hook took on this request; null until the first one ran. */
    timings: Partial<Record<HookStage, number>> | null;
  }
}

/** Per-stage buckets (seconds): fine from 0.1 ms, since most stages take well under a millisecond. */
export const SEARCH_STAGE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1];

export interface ApiMetrics {
  registry: Registry;
  searchDuration: Histogram;
  searchStageDuration: Histogram<'stage'>;
  searchWidened: Counter;
  searchUncertified: Counter;
  rateLimitAllowed: Counter<'bucket'>;
  rateLimitLimited: Counter<'bucket'>;
  rateLimitFailures: Counter<'bucket' | 'mode'>;
  httpRequests: Counter<'route' | 'method' | 'status'>;
}

export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  const registers = [registry];
  const metrics: ApiMetrics = {
    registry,
    searchDuration: new Histogram({
      name: 'commontrace_search_duration_seconds',
      help: 'Search latency inside the handler, after auth, rate limit and body parsing: query embedding, the search statement, re-ranking and building the response (the stage histogram has auth and limit)',
      buckets: SEARCH_DURATION_BUCKETS,
      registers,
    }),
    searchStageDuration: new Histogram({
      name: 'commontrace_search_stage_duration_seconds',
      help: 'Time per stage of each served search: auth (API key), limit (token bucket), embed (query embedding), db (the search statement), rerank (rows to hits)',
      labelNames: ['stage'],
      buckets: SEARCH_STAGE_BUCKETS,
      registers,
    }),
    searchWidened: new Counter({
      name: 'commontrace_search_widened_total',
      help: 'Searches whose first candidate fetch could not certify the trust re-ranking, so the statement fetched the wider set',
      registers,
    }),
    searchUncertified: new Counter({
      name: 'commontrace_search_uncertified_total',
      help: 'Searches where even the widened candidate fetch could not prove the trust re-ranking lost nothing',
      registers,
    }),
    rateLimitAllowed: new Counter({
      name: 'commontrace_ratelimit_allowed_total',
      help: 'Requests the token bucket let through, per bucket',
      labelNames: ['bucket'],
      registers,
    }),
    rateLimitLimited: new Counter({
      name: 'commontrace_ratelimit_limited_total',
      help: 'Requests answered 429 by the token bucket, per bucket',
      labelNames: ['bucket'],
      registers,
    }),
    rateLimitFailures: new Counter({
      name: 'commontrace_ratelimit_failures_total',
      help: 'Requests for which the limiter (Redis) failed; mode says whether they were let through (open) or refused (closed)',
      labelNames: ['bucket', 'mode'],
      registers,
    }),
    httpRequests: new Counter({
      name: 'commontrace_http_requests_total',
      help: 'HTTP responses by route, method and status code',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
  };
  // Zero-valued series from the start, so dashboards and tests see every bucket before traffic.
  for (const bucket of BUCKET_NAMES) {
    metrics.rateLimitAllowed.inc({ bucket }, 0);
    metrics.rateLimitLimited.inc({ bucket }, 0);
  }
  for (const stage of SEARCH_STAGES) metrics.searchStageDuration.zero({ stage });
  return metrics;
}

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** The hook, recording how long it took in request.timings[stage] (also when it answers or throws). */
export function timedHook(stage: HookStage, hook: Hook): Hook {
  return async function timed(request, reply) {
    const start = performance.now();
    try {
      return await hook(request, reply);
    } finally {
      (request.timings ??= {})[stage] = performance.now() - start;
    }
  };
}

/** Records one served search's stage durations (milliseconds) in the stage histogram. */
export function observeSearchStages(metrics: ApiMetrics, durations: StageDurations): void {
  for (const stage of SEARCH_STAGES) metrics.searchStageDuration.observe({ stage }, durations[stage] / 1000);
}

/** The W3C Server-Timing value for stage durations in milliseconds: `auth;dur=0.12, limit;dur=0.40, …`. */
export function serverTimingHeader(durations: StageDurations): string {
  return SEARCH_STAGES.map((stage) => `${stage};dur=${durations[stage].toFixed(2)}`).join(', ');
}
