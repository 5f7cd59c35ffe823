/**
 * End-to-end load on the search API, against its public contract (issue 6):
 *   GET  /healthz
 *   POST /api/v1/auth/register {email}          → 201 {user_id, api_key}
 *   POST /api/v1/traces/search {q, limit}        with Authorization: Bearer <api_key>
 * N users register and each sends with its own key, for T seconds, in one of two modes:
 * - closed loop (default): autocannon, one keep-alive connection per user, requests back to back —
 *   the API's throughput ceiling;
 * - open loop (`ratePerUser`): each user sends on a fixed schedule, users staggered evenly across
 *   the interval, and latency is measured from the scheduled send time, so a stalled server cannot
 *   hide its queueing (no coordinated omission). Use it to stay within the API's per-user quota.
 * Latencies of 2xx responses go into an HDR histogram; every other status and every transport error
 * is counted on its own, never folded into the latencies.
 */
import autocannon from 'autocannon';
import { ApiClient, mapConcurrent } from '../api/client.js';
import { createLatencyHistogram, recordMs, summarizeLatency, type LatencySummary } from './stats.js';

export const SEARCH_PATH = '/api/v1/traces/search';

export interface HttpLoadOptions {
  baseUrl: string;
  users: number;
  seconds: number;
  /** Query texts, cycled through in order. */
  queries: readonly string[];
  /** Results asked for per search. */
  limit: number;
  /** Open loop at this many requests per second per user; unset = closed loop. */
  ratePerUser?: number;
  /** Makes this run's user e-mails unique. */
  runTag: string;
  timeoutSeconds?: number;
  onProgress?: (responses: number) => void;
}

export interface HttpLoadResult {
  baseUrl: string;
  mode: 'closed-loop' | 'open-loop';
  users: number;
  seconds: number;
  ratePerUser: number | null;
  /** The API's announced read quota (RateLimit-Policy of the warm-up search), if any. */
  rateLimitPolicy: string | null;
  /** Responses plus transport errors. */
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  errorRate: number;
  /** 2xx responses per second. */
  qps: number;
  /** 2xx responses only. */
  latency: LatencySummary;
  statusCodes: Record<string, number>;
}

export class HttpTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HttpTargetError';
  }
}

class Tally {
  readonly histogram = createLatencyHistogram();
  readonly statusCodes: Record<string, number> = {};
  ok = 0;
  non2xx = 0;
  errors = 0;
  timeouts = 0;

  response(status: number, ms: number): void {
    this.statusCodes[status] = (this.statusCodes[status] ?? 0) + 1;
    if (status >= 200 && status < 300) {
      this.ok++;
      recordMs(this.histogram, ms);
    } else {
      this.non2xx++;
    }
  }

  get responses(): number {
    return this.ok + this.non2xx;
  }
}

/** Registers the users (each gets its own key) and sends one unmeasured search per user. */
async function prepareUsers(api: ApiClient, options: HttpLoadOptions): Promise<{ keys: string[]; policy: string | null }> {
  const health = await api.health();
  if (health.status !== 200) {
    throw new HttpTargetError(
      `the search API at ${api.baseUrl} is not healthy (${health.status === 0 ? health.error : `GET /healthz answered ${health.status}`}); start it, or skip the HTTP phase`,
    );
  }
  const tag = options.runTag.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(-40);
  const users = await mapConcurrent(Array.from({ length: options.users }, (_, i) => i), 4, (i) =>
    api.register(`bench-${tag}-${i}@benchmark.commontrace.internal`).catch((err: Error) => {
      throw new HttpTargetError(`registering benchmark user ${i} failed: ${err.message}`);
    }),
  );
  // Warms each user's path (key lookup, limiter bucket) so the first measured request is not a cold one.
  const probes = await mapConcurrent(users, 4, (u, i) => api.search(u.apiKey, options.queries[i % options.queries.length]!, { limit: options.limit }));
  const failed = probes.find((p) => p.status !== 200);
  if (failed) throw new HttpTargetError(`a warm-up search answered ${failed.status === 0 ? failed.error : failed.status}; check the API before loading it`);
  return { keys: users.map((u) => u.apiKey), policy: probes[0]?.rateLimitPolicy ?? null };
}

function closedLoop(options: HttpLoadOptions, keys: string[], bodies: string[], tally: Tally): Promise<{ seconds: number; errors: number; timeouts: number }> {
  let nextBody = 0;
  let nextUser = 0;
  const path = new URL(options.baseUrl.replace(/\/+$/, '') + SEARCH_PATH).pathname;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.baseUrl.replace(/\/+$/, '') + SEARCH_PATH,
        connections: options.users,
        duration: options.seconds,
        timeout: options.timeoutSeconds ?? 10,
        excludeErrorStats: true,
        // One user per connection, with its own key on every request it sends.
        setupClient: (client) => {
          const key = keys[nextUser++ % keys.length]!;
          client.setRequests([
            {
              method: 'POST',
              path,
              headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
              setupRequest: (req) => ({ ...req, body: bodies[nextBody++ % bodies.length] }),
            },
          ]);
        },
      },
      (err: unknown, res: autocannon.Result) =>
        err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve({ seconds: res.duration || options.seconds, errors: res.errors, timeouts: res.timeouts }),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => tally.response(statusCode, responseTime));
    instance.on('tick', () => options.onProgress?.(tally.responses));
  });
}

async function openLoop(api: ApiClient, options: HttpLoadOptions, keys: string[], rate: number, tally: Tally): Promise<{ seconds: number }> {
  const interval = 1000 / rate;
  const started = performance.now();
  const end = started + options.seconds * 1000;
  const inFlight = new Set<Promise<void>>();
  let nextQuery = 0;
  const user = async (u: number) => {
    for (let k = 0; ; k++) {
      const scheduled = started + (k + u / keys.length) * interval;
      if (scheduled >= end) return;
      const wait = scheduled - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const q = options.queries[nextQuery++ % options.queries.length]!;
      const request = api.search(keys[u]!, q, { limit: options.limit }).then((res) => {
        if (res.status === 0) {
          tally.errors++;
          if (/timeout|aborted/i.test(res.error ?? '')) tally.timeouts++;
        } else {
          tally.response(res.status, performance.now() - scheduled);
        }
      });
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    }
  };
  const ticker = setInterval(() => options.onProgress?.(tally.responses), 1_000);
  try {
    await Promise.all(keys.map((_, u) => user(u)));
    await Promise.all(inFlight);
  } finally {
    clearInterval(ticker);
  }
  return { seconds: (performance.now() - started) / 1000 };
}

export async function runHttpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  if (options.queries.length === 0) throw new HttpTargetError('no query texts to send');
  if (options.ratePerUser !== undefined && !(options.ratePerUser > 0)) throw new HttpTargetError(`ratePerUser must be positive, got ${options.ratePerUser}`);
  const api = new ApiClient(options.baseUrl, (options.timeoutSeconds ?? 10) * 1000);
  const { keys, policy } = await prepareUsers(api, options);
  const tally = new Tally();
  let seconds: number;
  if (options.ratePerUser === undefined) {
    const bodies = options.queries.map((q) => JSON.stringify({ q, limit: options.limit }));
    const run = await closedLoop(options, keys, bodies, tally);
    seconds = run.seconds;
    tally.errors = run.errors;
    tally.timeouts = run.timeouts;
  } else {
    ({ seconds } = await openLoop(api, options, keys, options.ratePerUser, tally));
  }
  const requests = tally.responses + tally.errors;
  return {
    baseUrl: options.baseUrl,
    mode: options.ratePerUser === undefined ? 'closed-loop' : 'open-loop',
    users: options.users,
    seconds: Math.round(seconds * 100) / 100,
    ratePerUser: options.ratePerUser ?? null,
    rateLimitPolicy: policy,
    requests,
    ok: tally.ok,
    non2xx: tally.non2xx,
    errors: tally.errors,
    timeouts: tally.timeouts,
    // No response at all in T seconds is a failed run, not a perfect one.
    errorRate: requests === 0 ? 1 : (tally.non2xx + tally.errors) / requests,
    qps: Math.round((tally.ok / seconds) * 10) / 10,
    latency: summarizeLatency(tally.histogram),
    statusCodes: tally.statusCodes,
  };
}
