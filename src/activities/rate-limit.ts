/**
 * The I/O of the rateLimitValidation workflow: real HTTP traffic against the API under test. Each
 * check's activity registers its own test users, runs its traffic and deletes them (test-users.ts),
 * so API keys never appear in activity inputs or results, and so never in Temporal history. Only
 * check 3's user outlives its activity (its bucket must refill across a durable workflow timer): its
 * key crosses over sealed (key-escrow.ts). Activities return raw measurements; the workflow judges
 * them (src/workflows/rate-limit-checks.ts), so the verdict is replay-safe and unit-testable. What
 * each check sends, and how responses become measurements, is src/ratelimit/validation-scenarios.ts.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import pLimit from 'p-limit';
import { ApiClient, describe, type ApiResponse, type RegisteredUser } from '../api/api-client.js';
import { dependencyStates, isDegradedCommonTrace } from '../api/health.js';
import { ApiPortBusyError, ensureLocalApiServer, type LocalApiSource } from '../api/local.js';
import { TokenBucket } from '../ratelimit/token-bucket.js';
import {
  agentQuery,
  agentSessionPlan,
  limitedSample,
  MAX_IN_FLIGHT,
  refillProbePlan,
  spanSeconds,
  tally,
  userAdmission,
  writeProbeTrace,
  type AgentSessionMeasurement,
  type BurstMeasurement,
  type ManyUsersMeasurement,
  type RefillMeasurement,
  type WriteMeasurement,
} from '../ratelimit/validation-scenarios.js';
import type { ActivityDeps } from './deps.js';
import { KeyEscrow } from './key-escrow.js';
import { releaseHeldUsers, withTestUsers, type HeldUser, type TestUsersInput, type TestUsersReport } from './test-users.js';

export type { HeldUser, TestUsersReport } from './test-users.js';

/** Check 1–2's burst, with its user held (sealed) for check 3's probe after the workflow's timer. */
export type ExhaustMeasurement = BurstMeasurement & { held: HeldUser; testUsers: TestUsersReport };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits `ms`, heartbeating every few seconds so a long idle never looks like a dead activity. */
async function pause(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await sleep(Math.min(5_000, end - Date.now()));
    Context.current().heartbeat();
  }
}

/** A check whose API vanished is not a limiter verdict: fail the activity (retried, then reported). */
function assertReachable(responses: readonly ApiResponse[], baseUrl: string): void {
  const dead = responses.filter((r) => r.status === 0);
  if (dead.length === responses.length && dead.length > 0) {
    throw ApplicationFailure.retryable(`The API at ${baseUrl} did not answer: ${dead[0]!.error}`, 'ApiUnreachable');
  }
}

/**
 * `count` concurrent searches from a full bucket, then single requests until the first 429 (or
 * `maxFollowUps`). With `otherUser`, one request of that user goes first (the independence probe).
 */
/** Requests from `user`, one at a time, until its first 429 (or `max` requests): how many were allowed first, and the last response. */
async function untilLimited(client: ApiClient, user: RegisteredUser, max: number): Promise<{ allowed: number; last: ApiResponse | undefined }> {
  let allowed = 0;
  let last: ApiResponse | undefined;
  for (let i = 0; i < max; i++) {
    last = await client.search(user.apiKey, agentQuery(i), { limit: 3 });
    if (last.status === 429) break;
    if (last.status === 200) allowed++;
  }
  return { allowed, last };
}

async function burst(
  client: ApiClient, user: RegisteredUser, count: number, maxFollowUps: number, other?: { user: RegisteredUser; exhaustedAt: number },
): Promise<BurstMeasurement> {
  // The other user's bucket refills while time passes (on a slow host, a second is a whole token):
  // it is probed until its 429, and the check allows what refilled since it was emptied.
  const probe = other ? await untilLimited(client, other.user, maxFollowUps) : undefined;
  const otherUser = other && probe?.last
    ? { status: probe.last.status, allowedBeforeLimit: probe.allowed, secondsSinceEmpty: (probe.last.receivedAt - other.exhaustedAt) / 1000 }
    : undefined;
  const responses = await pLimit(MAX_IN_FLIGHT).map(Array.from({ length: count }), (_, i) => client.search(user.apiKey, agentQuery(i), { limit: 3 }));
  assertReachable(responses, client.baseUrl);
  const startedAt = Math.min(...responses.map((r) => r.sentAt));
  const { allowed: followUpsAllowed, last } = await untilLimited(client, user, maxFollowUps);
  const limited = last?.status === 429;
  const endedAt = last?.receivedAt ?? Date.now();
  return {
    tally: tally(responses),
    seconds: spanSeconds(responses),
    followUpsAllowed,
    followUpsSent: followUpsAllowed + (limited ? 1 : 0),
    limited,
    ...(limited && { limitedSample: limitedSample(last) }),
    secondsToLimit: (endedAt - startedAt) / 1000,
    exhaustedAt: endedAt,
    ...(otherUser && { otherUser }),
  };
}

/**
 * One agent working session: `searches` requests in small bursts (an agent fires a few lookups,
 * then reads and edits) spread evenly over `windowSeconds`.
 */
async function agentSession(client: ApiClient, user: RegisteredUser, input: { searches: number; windowSeconds: number; clusterSize: number }): Promise<AgentSessionMeasurement> {
  const responses: ApiResponse[] = [];
  const started = Date.now();
  for (const cluster of agentSessionPlan(input.searches, input.windowSeconds, input.clusterSize)) {
    const due = started + cluster.atMs;
    if (due > Date.now()) await pause(due - Date.now());
    const first = responses.length;
    responses.push(...(await Promise.all(Array.from({ length: cluster.size }, (_, i) => client.search(user.apiKey, agentQuery(first + i), { limit: 5 })))));
    Context.current().heartbeat({ sent: responses.length });
  }
  // The session lasts its full window even when the last cluster comes early.
  const end = started + input.windowSeconds * 1000;
  if (end > Date.now()) await pause(end - Date.now());
  assertReachable(responses, client.baseUrl);
  return { tally: tally(responses), seconds: (Date.now() - started) / 1000 };
}

export function createRateLimitActivities(deps: ActivityDeps) {
  const tools = { buckets: new TokenBucket(deps.redis), escrow: new KeyEscrow(deps.redis) };

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

    /** Before any check: the API answers /healthz (a run against nothing fails, and says what to do). */
    async probeRateLimitApi(input: { baseUrl: string }): Promise<{ status: number }> {
      const res = await new ApiClient(input.baseUrl).health();
      if (res.status === 0) {
        throw ApplicationFailure.retryable(
          `The API at ${input.baseUrl} did not answer (${res.error}). Check that it is up (\`npm run cli -- api\` serves one locally).`,
          'ApiUnreachable',
        );
      }
      if (isDegradedCommonTrace(res)) {
        throw ApplicationFailure.retryable(`The API at ${input.baseUrl} is degraded (${dependencyStates(res.body)}); the activity retries it while its retry policy allows`, 'ApiDegraded');
      }
      if (res.status !== 200) throw ApplicationFailure.nonRetryable(`GET /healthz answered ${describe(res)}. Is ${input.baseUrl} a CommonTrace API?`, 'ApiUnhealthy');
      return { status: res.status };
    },

    /**
     * Checks 1 and 2: a burst of `count` from a fresh user's full bucket, then follow-ups until the
     * 429. The user is then held (sealed) for check 3's probe, which needs its emptied bucket.
     */
    async rateLimitBurstAndHold(input: TestUsersInput & { count: number; maxFollowUps: number }): Promise<ExhaustMeasurement> {
      const { value, testUsers } = await withTestUsers(tools, input, ['burst'], async (users, hold) => {
        const measured = await burst(new ApiClient(input.baseUrl), users.burst, input.count, input.maxFollowUps);
        return { ...measured, held: await hold('burst') };
      });
      return { ...value, testUsers };
    },

    /**
     * Check 3, after the workflow's durable timer: expected refill = elapsed × limit/60 (capped at the
     * limit), measured from the 429 that emptied the bucket; sends that many plus `extra` at once.
     * The held user is deleted afterwards by releaseHeldUsers.
     */
    async rateLimitRefillProbe(input: { baseUrl: string; held: HeldUser; exhaustedAt: number; perMinute: number; extra: number }): Promise<RefillMeasurement> {
      // A second attempt would find the bucket drained by the first: its numbers would mean nothing.
      if (Context.current().info.attempt > 1) {
        throw ApplicationFailure.nonRetryable('The refill probe was interrupted after it had spent tokens; re-run the validation.', 'RefillProbeInterrupted');
      }
      const apiKey = await tools.escrow.open(input.held);
      if (apiKey === null) {
        throw ApplicationFailure.nonRetryable(
          'The emptied test user\'s sealed key can no longer be opened (its escrow expired or was released); re-run the validation.',
          'HeldKeyGone',
        );
      }
      const client = new ApiClient(input.baseUrl);
      const elapsedSeconds = (Date.now() - input.exhaustedAt) / 1000;
      const { expectedTokens, send } = refillProbePlan(elapsedSeconds, input.perMinute, input.extra);
      const responses = await pLimit(MAX_IN_FLIGHT).map(Array.from({ length: send }), (_, i) => client.search(apiKey, agentQuery(i), { limit: 3 }));
      assertReachable(responses, input.baseUrl);
      return {
        elapsedSeconds: Math.round(elapsedSeconds * 1000) / 1000,
        expectedTokens: Math.round(expectedTokens * 100) / 100,
        tally: tally(responses),
        limitedSample: limitedSample(responses.find((r) => r.status === 429)),
      };
    },

    /** Deletes the users earlier activities held (run from the workflow's finally, so always). */
    async releaseHeldUsers(input: { baseUrl: string; held: HeldUser[]; cleanup: boolean }): Promise<TestUsersReport> {
      return releaseHeldUsers(tools, input);
    },

    /**
     * Check 4: user A's bucket is emptied (a burst until its 429), then A sends one request and user B
     * bursts from its own full bucket until B's 429.
     */
    async rateLimitIndependentBuckets(input: TestUsersInput & { count: number; maxFollowUps: number }): Promise<BurstMeasurement & { testUsers: TestUsersReport }> {
      const { value, testUsers } = await withTestUsers(tools, input, ['drained', 'second'], async (users) => {
        const client = new ApiClient(input.baseUrl);
        const drained = await burst(client, users.drained, input.count, input.maxFollowUps);
        return burst(client, users.second, input.count, input.maxFollowUps, { user: users.drained, exhaustedAt: drained.exhaustedAt });
      });
      return { ...value, testUsers };
    },

    /** Check 5: `count` concurrent contributions on a fresh write bucket, then one search on the read bucket. */
    async rateLimitWriteBurst(input: TestUsersInput & { count: number }): Promise<WriteMeasurement & { testUsers: TestUsersReport }> {
      const { value, testUsers } = await withTestUsers(tools, input, ['writer'], async ({ writer }) => {
        const client = new ApiClient(input.baseUrl);
        const responses = await pLimit(MAX_IN_FLIGHT).map(Array.from({ length: input.count }), (_, i) => client.contribute(writer.apiKey, writeProbeTrace(i)));
        assertReachable(responses, input.baseUrl);
        const read = await client.search(writer.apiKey, agentQuery(0), { limit: 1 });
        return { tally: tally(responses, 201), seconds: spanSeconds(responses), readAfterStatus: read.status };
      });
      return { ...value, testUsers };
    },

    /**
     * Check 6: one agent's working sessions, idle `idleSeconds` between them, all in this activity so
     * the agent's key never leaves it (heartbeats keep the long activity observable).
     */
    async rateLimitAgentSessions(
      input: TestUsersInput & { sessions: number; searches: number; windowSeconds: number; idleSeconds: number; clusterSize: number },
    ): Promise<{ sessions: AgentSessionMeasurement[]; testUsers: TestUsersReport }> {
      const { value, testUsers } = await withTestUsers(tools, input, ['agent'], async ({ agent }) => {
        const client = new ApiClient(input.baseUrl);
        const sessions: AgentSessionMeasurement[] = [];
        for (let i = 0; i < input.sessions; i++) {
          if (i > 0) await pause(input.idleSeconds * 1000);
          sessions.push(await agentSession(client, agent, input));
        }
        return sessions;
      });
      return { sessions: value, testUsers };
    },

    /** Check 7: every user's `perUser` searches in flight at the same moment; each user's admission window is userAdmission's. */
    async rateLimitManyUsers(input: TestUsersInput & { users: number; perUser: number }): Promise<ManyUsersMeasurement & { testUsers: TestUsersReport }> {
      const roles = Array.from({ length: input.users }, (_, i) => `crowd${i + 1}`);
      const { value, testUsers } = await withTestUsers(tools, input, roles, async (users) => {
        const client = new ApiClient(input.baseUrl);
        const byUser = await Promise.all(
          roles.map((role) => Promise.all(Array.from({ length: input.perUser }, (_, i) => client.search(users[role]!.apiKey, agentQuery(i), { limit: 1 })))),
        );
        const all = byUser.flat();
        assertReachable(all, input.baseUrl);
        const perUser = byUser.map(userAdmission);
        return { perUser, tally: tally(all), seconds: spanSeconds(all) };
      });
      return { ...value, testUsers };
    },
  };
}
