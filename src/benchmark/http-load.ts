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
 * Registration and one warm-up search per user run here; the warm-up load (warmupSeconds, by as many
 * other users at the same per-user rate) and the measured loop run in harness child processes
 * (harness/http-loops.ts), never on this process's event loop, which may be a Temporal worker's.
 * The users are deleted through the same API (DELETE /api/v1/users/me with their own keys) when the
 * run ends, however it ends: their keys never leave this process, and the deployment is left as found.
 * Latencies of 2xx responses go into an HDR histogram; every other status and every transport error
 * is counted on its own, never folded into the latencies. Responses with Server-Timing are split
 * into per-stage latencies, and the result says whether the harness itself kept up (`harness`).
 */
import pLimit from 'p-limit';
import { ApiClient, type RegisteredUser } from '../api/api-client.js';
import { dependencyStates, isDegradedCommonTrace } from '../api/health.js';
import { summarizeLatency, type LatencySummary } from './stats.js';
import { harnessReport, unionSeconds, type HarnessReport } from './harness/judge.js';
import { httpLoadJob, type HttpLoopInput } from './harness/http-loops.js';
import { mergeTallies } from './harness/http-tally.js';
import { harnessProcesses, spreadLanes } from './harness/lanes.js';
import { runInChildren } from './harness/run-child.js';
import { detectDrift, type Drift, type TimeWindow } from './time-series.js';

export { SEARCH_PATH } from './harness/http-loops.js';

/** The e-mail domain of every user a load test registers through the API under test (.invalid: never deliverable). */
export const LOAD_TEST_EMAIL_DOMAIN = 'loadtest.commontrace.invalid';

/** A benchmark user as the caller is told of it: never its key. */
export interface LoadTestUser {
  userId: string;
  email: string;
}

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
  /** Told of each user as it registers (e.g. to reset its rate-limit buckets after the run). */
  onUserRegistered?: (user: LoadTestUser) => void;
  timeoutSeconds?: number;
  onProgress?: (responses: number) => void;
  /** Stops the load (its child processes are killed); the run rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Harness processes the users are spread over; default one per core, at most one per user. */
  processes?: number;
  /** Told when the measured load starts (epoch ms, the start its time windows count from), after registration and warm-up. */
  onLoadStart?: (startedAt: number) => void;
  /**
   * Seconds of unmeasured open-loop load just before the measured window (default
   * HTTP_WARMUP_SECONDS; 0: none), sent by as many other users at the same per-user rate (the
   * open loop's, or HTTP_WARMUP_RATE for a closed loop), so the measured users' quota stays whole.
   */
  warmupSeconds?: number;
}

export const HTTP_WARMUP_SECONDS = 5;
/** Per-user rate of a closed loop's warm-up (it has no rate of its own): the API's read quota allows a 60-request burst. */
export const HTTP_WARMUP_RATE = 3;

/** The warm-up before the measured window: who sent it and what came back (never in the measured figures). */
export interface HttpWarmup {
  users: number;
  seconds: number;
  ratePerUser: number;
  requests: number;
  ok: number;
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
  /**
   * 2xx responses that carried Server-Timing, by stage: the API's own (auth, limit, embed, db,
   * rerank, …), `server` (their sum) and `outside` (latency minus that sum: network, HTTP parsing,
   * queueing in Node and Fastify). null when no response carried the header.
   */
  stages: Record<string, LatencySummary> | null;
  /** The load generator's own cost; a saturated phase measured the harness, not the API. */
  harness: HarnessReport;
  /** Per time window of the run (time-series.ts): 2xx completions and their latency, other outcomes as errors. */
  windows: TimeWindow[];
  /** Whether p99 rose across the windows (a growing queue). */
  drift: Drift;
  /** null: no warm-up ran. */
  warmup: HttpWarmup | null;
}

export class HttpTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HttpTargetError';
  }
}

const PROGRESS_EVERY_MS = 1_000;

type BenchUser = RegisteredUser & { email: string };

/**
 * Registers the users (each gets its own key) into `users`, by index, and sends one unmeasured
 * search per user. Every registration is awaited before a failure is thrown, so `users` then holds
 * (with holes where registration failed) every user that exists, for the caller to delete.
 */
async function prepareUsers(api: ApiClient, options: HttpLoadOptions, users: BenchUser[], count: number): Promise<{ policy: string | null }> {
  const health = await api.health();
  if (isDegradedCommonTrace(health)) {
    // The API is there and a dependency of it is down or slow right now: a plain error, which the
    // activity's retry policy retries (a target that is no CommonTrace API fails for good below).
    throw new Error(`the search API at ${api.baseUrl} is degraded (${dependencyStates(health.body)})`);
  }
  if (health.status !== 200) {
    throw new HttpTargetError(
      `the search API at ${api.baseUrl} is not healthy (${health.status === 0 ? health.error : `GET /healthz answered ${health.status}`}); start it, or skip the HTTP phase`,
    );
  }
  const tag = options.runTag.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(-40);
  const failures = await pLimit(4).map(Array.from({ length: count }, (_, i) => i), async (i) => {
    const email = `bench-${tag}-${i}@${LOAD_TEST_EMAIL_DOMAIN}`;
    try {
      const user = { ...(await api.register(email)), email };
      users[i] = user;
      options.onUserRegistered?.({ userId: user.userId, email });
      return null;
    } catch (err) {
      return `registering benchmark user ${i} failed: ${(err as Error).message}`;
    }
  });
  const failure = failures.find((f) => f !== null);
  if (failure) throw new HttpTargetError(failure);
  // Warms each user's path (key lookup, limiter bucket) so the first measured request is not a cold one.
  const probes = await pLimit(4).map(users, (u, i) => api.search(u.apiKey, options.queries[i % options.queries.length]!, { limit: options.limit }));
  const failed = probes.find((p) => p.status !== 200);
  if (failed) throw new HttpTargetError(`a warm-up search answered ${failed.status === 0 ? failed.error : failed.status}; check the API before loading it`);
  return { policy: probes[0]?.rateLimitPolicy ?? null };
}

/** Deletes each user through the API with its own key; returns what could not be deleted. */
async function deleteUsers(api: ApiClient, users: readonly (BenchUser | undefined)[]): Promise<string[]> {
  const problems = await pLimit(4).map(users.filter((u) => u !== undefined), (u) =>
    api.deleteSelf(u.apiKey).then(
      () => null,
      (err: Error) => `${u.email}: ${err.message}`,
    ),
  );
  return problems.filter((p) => p !== null);
}

export async function runHttpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  if (options.queries.length === 0) throw new HttpTargetError('no query texts to send');
  if (options.ratePerUser !== undefined && !(options.ratePerUser > 0)) throw new HttpTargetError(`ratePerUser must be positive, got ${options.ratePerUser}`);
  const timeoutSeconds = options.timeoutSeconds ?? 10;
  const api = new ApiClient(options.baseUrl, timeoutSeconds * 1000);
  const users: BenchUser[] = [];
  let result: HttpLoadResult;
  let undeleted: string[];
  try {
    result = await loadWith(api, options, users, timeoutSeconds);
  } finally {
    // A failed or aborted run cleans up too; its own error is the one that propagates then.
    undeleted = await deleteUsers(api, users);
  }
  if (undeleted.length > 0) {
    throw new HttpTargetError(
      `the load ran, but ${undeleted.length} of ${users.filter(Boolean).length} benchmark users could not be deleted through ${options.baseUrl} ` +
        `(${undeleted[0]}); delete the users with e-mails bench-…@${LOAD_TEST_EMAIL_DOMAIN} in that deployment`,
    );
  }
  return result;
}

async function loadWith(api: ApiClient, options: HttpLoadOptions, users: BenchUser[], timeoutSeconds: number): Promise<HttpLoadResult> {
  const warmupSeconds = options.warmupSeconds ?? HTTP_WARMUP_SECONDS;
  // The measured users are 0 … users-1; with a warm-up, as many more follow them for it.
  const { policy } = await prepareUsers(api, options, users, warmupSeconds > 0 ? 2 * options.users : options.users);
  const keys = users.slice(0, options.users).map((u) => u.apiKey);
  const warmupKeys = users.slice(options.users).map((u) => u.apiKey);
  const warmupRate = options.ratePerUser ?? HTTP_WARMUP_RATE;
  const mode = options.ratePerUser === undefined ? 'closed-loop' : 'open-loop';

  const inputs: HttpLoopInput[] = spreadLanes(keys.length, harnessProcesses(keys.length, options.processes)).map((lanes) => ({
    baseUrl: options.baseUrl,
    users: lanes.map((index) => ({ index, key: keys[index]! })),
    warmup: warmupKeys.length === 0 ? null : { users: lanes.map((index) => ({ index, key: warmupKeys[index]! })), seconds: warmupSeconds, ratePerUser: warmupRate },
    totalUsers: keys.length,
    seconds: options.seconds,
    queries: [...options.queries],
    limit: options.limit,
    ratePerUser: options.ratePerUser ?? null,
    timeoutSeconds,
  }));
  const responses = inputs.map(() => 0);
  const total = () => responses.reduce((a, b) => a + b, 0);
  const ticker = setInterval(() => options.onProgress?.(total()), PROGRESS_EVERY_MS);
  let runs;
  try {
    runs = await runInChildren(httpLoadJob, inputs, {
      label: `http-load:${mode}:${keys.length}`,
      signal: options.signal,
      onProgress: (child, n) => void (responses[child] = n),
      onGo: options.onLoadStart,
    });
  } finally {
    clearInterval(ticker);
  }

  const tally = mergeTallies(runs.map((r) => r.result.tally));
  options.onProgress?.(tally.ok + tally.non2xx);
  const loads = runs.map((r) => r.load);
  const seconds = unionSeconds(loads);
  const requests = tally.ok + tally.non2xx + tally.errors;
  const scheduleLag = options.ratePerUser === undefined ? null : { scheduleLagP99Ms: summarizeLatency(tally.scheduleLag).p99, intervalMs: 1000 / options.ratePerUser };
  return {
    baseUrl: options.baseUrl,
    mode,
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
    qps: seconds > 0 ? Math.round((tally.ok / seconds) * 10) / 10 : 0,
    latency: summarizeLatency(tally.latency),
    statusCodes: tally.statusCodes,
    stages: tally.stages.size === 0 ? null : Object.fromEntries([...tally.stages].map(([name, h]) => [name, summarizeLatency(h)])),
    harness: harnessReport(loads, scheduleLag),
    windows: tally.windows,
    drift: detectDrift(tally.windows),
    warmup: warmupKeys.length === 0 ? null : {
      users: warmupKeys.length, seconds: warmupSeconds, ratePerUser: warmupRate,
      requests: runs.reduce((n, r) => n + (r.result.warmup?.requests ?? 0), 0),
      ok: runs.reduce((n, r) => n + (r.result.warmup?.ok ?? 0), 0),
    },
  };
}
