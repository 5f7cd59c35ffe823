/**
 * Prometheus metrics of one API instance. Each app gets its own Registry, so several servers in one
 * process (tests, a worker serving the API while a benchmark starts another) never collide on names.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { BUCKET_NAMES } from '../ratelimit/token-bucket.js';

/** End-to-end search latency buckets (seconds), from the launch criteria: 50 ms is the p99 target. */
export const SEARCH_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2];

export interface ApiMetrics {
  registry: Registry;
  searchDuration: Histogram;
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
      help: 'End-to-end search latency: query embedding, HNSW candidates and trust re-ranking',
      buckets: SEARCH_DURATION_BUCKETS,
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
  return metrics;
}
