/**
 * The I/O of the rateLimitValidation workflow: real HTTP traffic against the API under test, and
 * resets of only the test users' buckets. Activities return raw measurements; the workflow judges
 * them (src/workflows/rate-limit-checks.ts), so the verdict is replay-safe and unit-testable.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { ApiClient, ApiRequestError, describe, mapConcurrent, type ApiResponse, type RegisteredUser } from '../api/client.js';
import { ApiPortBusyError, ensureLocalApiServer, type LocalApiSource } from '../api/local.js';
import { TokenBucket } from '../ratelimit/token-bucket.js';
import type { ActivityDeps } from './deps.js';

/** Queries an agent might send; rotated so the API does real, varied searches. */
const AGENT_QUERIES = [
  'docker compose healthcheck for postgres service',
  'useEffect runs twice in development strict mode',
  'alembic autogenerate misses server default change',
  'redis connection refused in docker network',
  'github actions cache node modules between jobs',
  'pgvector hnsw index not used by the planner',
  'fastapi dependency injection for database session',
  'typescript cannot find module after path alias',
];
const query = (i: number) => AGENT_QUERIES[i % AGENT_QUERIES.length]!;

/** Sockets in flight for one user's burst: a burst of 60 is a single wave. */
const MAX_IN_FLIGHT = 64;

export interface StatusTally {
  total: number;
  ok: number;
  limited: number;
  other: number;
  statuses: Record<string, number>;
  firstOther?: string;
}

export interface LimitedSample {
  retryAfter: string | null;
  rateLimit: string | null;
  rateLimitPolicy: string | null;
}

export interface BurstMeasurement {
  tally: StatusTally;
  /** First request sent to last response received. */
  seconds: number;
  /** Requests after the burst, one at a time, until the first 429 (or the cap). */
  followUpsAllowed: number;
  followUpsSent: number;
  limited: boolean;
  limitedSample?: LimitedSample;
  /** Burst start to the 429 (or the last follow-up): tokens may refill during it. */
  secondsToLimit: number;
  /** Wall-clock ms of the 429: the bucket was empty then. */
  exhaustedAt: number;
  /** Status of the other user's request just before this burst (the independence check). */
  otherUserStatus?: number;
}

export interface RefillMeasurement {
  elapsedSeconds: number;
  expectedTokens: number;
  tally: StatusTally;
  limitedSample?: LimitedSample;
}

export interface WriteMeasurement {
  tally: StatusTally;
  seconds: number;
  readAfterStatus: number;
}

export interface AgentSessionMeasurement {
  tally: StatusTally;
  seconds: number;
}

export interface ManyUsersMeasurement {
  /** `seconds`: the user's admission window (first request to last 429). */
  perUser: { allowed: number; limited: number; other: number; seconds: number }[];
  tally: StatusTally;
  seconds: number;
}

export function tally(responses: readonly ApiResponse[], okStatus = 200): StatusTally {
  const t: StatusTally = { total: responses.length, ok: 0, limited: 0, other: 0, statuses: {} };
  for (const r of responses) {
    const key = r.status === 0 ? 'error' : String(r.status);
    t.statuses[key] = (t.statuses[key] ?? 0) + 1;
    if (r.status === okStatus) t.ok++;
    else if (r.status === 429) t.limited++;
    else {
      t.other++;
      t.firstOther ??= describe(r);
    }
  }
  return t;
}

const sample = (r: ApiResponse | undefined): LimitedSample | undefined =>
  r && { retryAfter: r.retryAfter, rateLimit: r.rateLimit, rateLimitPolicy: r.rateLimitPolicy };

const spanSeconds = (responses: readonly ApiResponse[]) =>
  responses.length === 0 ? 0 : (Math.max(...responses.map((r) => r.receivedAt)) - Math.min(...responses.map((r) => r.sentAt))) / 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A check whose API vanished is not a limiter verdict: fail the activity (retried, then reported). */
function assertReachable(responses: readonly ApiResponse[], baseUrl: string): void {
  const dead = responses.filter((r) => r.status === 0);
  if (dead.length === responses.length && dead.length > 0) {
    throw ApplicationFailure.retryable(`The API at ${baseUrl} did not answer: ${dead[0]!.error}`, 'ApiUnreachable');
  }
}

export function createRateLimitActivities(deps: ActivityDeps) {
  const buckets = new TokenBucket(deps.redis);

  return {
    /** The API the workflow tests when it was given no base URL: served inside this worker. */
    async ensureApiServer(): Promise<{ baseUrl: string; source: LocalApiSource }> {
      try {
        return await ensureLocalApiServer(deps);
      } catch (err) {
        if (err instanceof ApiPortBusyError) throw ApplicationFailure.nonRetryable(err.message, 'ApiPortBusy');
        throw err;
      }
    },

    /**
     * Registers fresh test users through the API. Each attempt uses new addresses, so a retry after
     * a lost response never trips over the 409 of its own earlier attempt.
     */
    async registerRateLimitUsers(input: { baseUrl: string; emailPrefix: string; roles: string[] }): Promise<(RegisteredUser & { role: string })[]> {
      const client = new ApiClient(input.baseUrl);
      const attempt = Context.current().info.attempt;
      try {
        return await mapConcurrent(input.roles, 8, async (role) => ({
          role,
          ...(await client.register(`${input.emailPrefix}-${role}-a${attempt}@commontrace.invalid`)),
        }));
      } catch (err) {
        if (err instanceof ApiRequestError && err.status >= 400 && err.status < 500) {
          throw ApplicationFailure.nonRetryable(`${err.message}. Is ${input.baseUrl} a CommonTrace API?`, 'RegistrationRefused');
        }
        throw ApplicationFailure.retryable(
          `${(err as Error).message}. Check that the API at ${input.baseUrl} is up (\`npm run cli -- api\` serves one locally).`,
          'ApiUnreachable',
        );
      }
    },

    /** DEL of exactly these users' bucket keys; never FLUSHALL. */
    async resetRateLimitBuckets(input: { userIds: string[] }): Promise<{ keysDeleted: number }> {
      return { keysDeleted: await buckets.reset(input.userIds) };
    },

    /**
     * `count` concurrent searches from a full bucket, then single requests until the first 429.
     * The bucket is reset first, so a retried attempt measures the same thing as the first.
     */
    async rateLimitBurst(input: {
      baseUrl: string;
      user: RegisteredUser;
      count: number;
      maxFollowUps: number;
      otherUser?: RegisteredUser;
    }): Promise<BurstMeasurement> {
      const client = new ApiClient(input.baseUrl);
      await buckets.reset([input.user.userId]);
      const otherUserStatus = input.otherUser ? (await client.search(input.otherUser.apiKey, query(0), { limit: 1 })).status : undefined;
      const burst = await mapConcurrent(Array.from({ length: input.count }), MAX_IN_FLIGHT, (_, i) =>
        client.search(input.user.apiKey, query(i), { limit: 3 }),
      );
      assertReachable(burst, input.baseUrl);
      const startedAt = Math.min(...burst.map((r) => r.sentAt));
      let followUpsAllowed = 0;
      let last: ApiResponse | undefined;
      for (let i = 0; i < input.maxFollowUps; i++) {
        last = await client.search(input.user.apiKey, query(i), { limit: 3 });
        if (last.status === 429) break;
        if (last.status === 200) followUpsAllowed++;
      }
      const limited = last?.status === 429;
      const endedAt = last?.receivedAt ?? Date.now();
      return {
        tally: tally(burst),
        seconds: spanSeconds(burst),
        followUpsAllowed,
        followUpsSent: followUpsAllowed + (limited ? 1 : 0),
        limited,
        ...(limited && { limitedSample: sample(last) }),
        secondsToLimit: (endedAt - startedAt) / 1000,
        exhaustedAt: endedAt,
        ...(otherUserStatus !== undefined && { otherUserStatus }),
      };
    },

    /**
     * After the workflow's durable timer: expected refill = elapsed × limit/60 (capped at the limit),
     * measured from the 429 that emptied the bucket; sends that many plus `extra` at once.
     */
    async rateLimitRefillProbe(input: { baseUrl: string; user: RegisteredUser; exhaustedAt: number; perMinute: number; extra: number }): Promise<RefillMeasurement> {
      // A second attempt would find the bucket drained by the first: its numbers would mean nothing.
      if (Context.current().info.attempt > 1) {
        throw ApplicationFailure.nonRetryable('The refill probe was interrupted after it had spent tokens; re-run the validation.', 'RefillProbeInterrupted');
      }
      const client = new ApiClient(input.baseUrl);
      const elapsedSeconds = (Date.now() - input.exhaustedAt) / 1000;
      const expectedTokens = Math.min(input.perMinute, (elapsedSeconds * input.perMinute) / 60);
      const sent = Math.round(expectedTokens) + input.extra;
      const responses = await mapConcurrent(Array.from({ length: sent }), MAX_IN_FLIGHT, (_, i) => client.search(input.user.apiKey, query(i), { limit: 3 }));
      assertReachable(responses, input.baseUrl);
      return {
        elapsedSeconds: Math.round(elapsedSeconds * 1000) / 1000,
        expectedTokens: Math.round(expectedTokens * 100) / 100,
        tally: tally(responses),
        limitedSample: sample(responses.find((r) => r.status === 429)),
      };
    },

    /** `count` concurrent contributions on a fresh write bucket, then one search on the read bucket. */
    async rateLimitWriteBurst(input: { baseUrl: string; user: RegisteredUser; count: number }): Promise<WriteMeasurement> {
      const client = new ApiClient(input.baseUrl);
      await buckets.reset([input.user.userId]);
      const responses = await mapConcurrent(Array.from({ length: input.count }), MAX_IN_FLIGHT, (_, i) =>
        client.contribute(input.user.apiKey, {
          title: `Rate-limit validation contribution ${i + 1}`,
          context: 'Written by the rateLimitValidation workflow to exercise the write bucket; deleted with its test user.',
          solution: 'No solution: this trace only measures the write limit.',
          agent_model: 'commontrace-launch',
          agent_version: 'rate-limit-validation',
        }),
      );
      assertReachable(responses, input.baseUrl);
      const read = await client.search(input.user.apiKey, query(0), { limit: 1 });
      return { tally: tally(responses, 201), seconds: spanSeconds(responses), readAfterStatus: read.status };
    },

    /**
     * One agent working session: `searches` requests in small bursts (an agent fires a few lookups,
     * then reads and edits) spread evenly over `windowSeconds`.
     */
    async rateLimitAgentSession(input: { baseUrl: string; user: RegisteredUser; searches: number; windowSeconds: number; clusterSize: number }): Promise<AgentSessionMeasurement> {
      const client = new ApiClient(input.baseUrl);
      const clusters = Math.ceil(input.searches / input.clusterSize);
      const gapMs = (input.windowSeconds * 1000) / clusters;
      const responses: ApiResponse[] = [];
      const started = Date.now();
      for (let c = 0; c < clusters; c++) {
        const due = started + c * gapMs;
        if (due > Date.now()) await sleep(due - Date.now());
        const size = Math.min(input.clusterSize, input.searches - c * input.clusterSize);
        responses.push(...(await Promise.all(Array.from({ length: size }, (_, i) => client.search(input.user.apiKey, query(c * input.clusterSize + i), { limit: 5 })))));
        Context.current().heartbeat({ sent: responses.length });
      }
      // The session lasts its full window even when the last cluster comes early.
      const end = started + input.windowSeconds * 1000;
      if (end > Date.now()) await sleep(end - Date.now());
      assertReachable(responses, input.baseUrl);
      return { tally: tally(responses), seconds: (Date.now() - started) / 1000 };
    },

    /**
     * Every user's `perUser` searches in flight at the same moment. A user's admission window runs
     * from its first request to its last 429: refused requests are answered the moment the bucket
     * decides, while allowed ones go on to search, so their completion says nothing about when they
     * were admitted. Tokens refilled inside that window are the only legitimate extra admissions.
     */
    async rateLimitManyUsers(input: { baseUrl: string; users: RegisteredUser[]; perUser: number }): Promise<ManyUsersMeasurement> {
      const client = new ApiClient(input.baseUrl);
      await buckets.reset(input.users.map((u) => u.userId));
      const byUser = await Promise.all(
        input.users.map((u) => Promise.all(Array.from({ length: input.perUser }, (_, i) => client.search(u.apiKey, query(i), { limit: 1 })))),
      );
      const all = byUser.flat();
      assertReachable(all, input.baseUrl);
      const perUser = byUser.map((mine) => {
        const t = tally(mine);
        const refused = mine.filter((r) => r.status === 429);
        const first = Math.min(...mine.map((r) => r.sentAt));
        const last = Math.max(...(refused.length > 0 ? refused : mine).map((r) => r.receivedAt));
        return { allowed: t.ok, limited: t.limited, other: t.other, seconds: Math.round(last - first) / 1000 };
      });
      return { perUser, tally: tally(all), seconds: spanSeconds(all) };
    },

    /**
     * Removes the run's test users (their contributions cascade) and their buckets. Matches by the
     * run's email prefix, so users of interrupted registration attempts go too.
     */
    async cleanupRateLimitUsers(input: { emailPrefix: string; userIds: string[] }): Promise<{ usersDeleted: number; keysDeleted: number }> {
      const keysDeleted = await buckets.reset(input.userIds);
      const { rowCount } = await deps.pool.query('DELETE FROM users WHERE starts_with(email, $1)', [`${input.emailPrefix}-`]);
      return { usersDeleted: rowCount ?? 0, keysDeleted };
    },
  };
}
