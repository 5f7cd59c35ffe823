import { ApplicationFailure, CancellationScope, isCancellation, proxyActivities, sleep, uuid4 } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ExhaustMeasurement, HeldUser, TestUsersReport } from '../activities/rate-limit.js';
import {
  checkAgentPattern,
  checkBurst,
  checkExhaustion,
  checkIndependent,
  checkManyUsers,
  checkRefill,
  checkWrite,
} from './rate-limit-checks.js';
import { rootCauseMessage } from '../failure.js';
import { ProgressTracker } from './progress.js';
import { ReadinessAttributes } from './readiness-attributes.js';

export interface RateLimitValidationInput {
  /** The API under test; when unset, the worker serves one on config.api.host:port. */
  baseUrl?: string;
  /** The limits the deployment is expected to enforce (requests per minute per user). */
  readLimit?: number;
  writeLimit?: number;
  /** Check 3: the durable timer between exhaustion and the refill probe. */
  refillWaitSeconds?: number;
  /** Check 3: probe requests beyond the expected refill (10 expected + 5 = the 15 of the research). */
  refillProbeExtra?: number;
  /** Check 6: the realistic agent pattern. */
  agentSessions?: number;
  agentSearchesPerSession?: number;
  agentSessionSeconds?: number;
  agentIdleSeconds?: number;
  /** Check 7: users hammering the API at once, each read_limit + extra requests. */
  manyUsers?: number;
  /** Delete the test users (and their contributed traces) and their buckets when each check ends. */
  cleanup?: boolean;
}

export type RateLimitValidationSettings = Required<Omit<RateLimitValidationInput, 'baseUrl'>>;

/** The launch defaults: 60 reads and 20 writes a minute, a real 10 s refill wait, 30 s agent sessions. */
export const RATE_LIMIT_VALIDATION_DEFAULTS: RateLimitValidationSettings = {
  readLimit: 60,
  writeLimit: 20,
  refillWaitSeconds: 10,
  refillProbeExtra: 5,
  agentSessions: 2,
  agentSearchesPerSession: 15,
  agentSessionSeconds: 30,
  agentIdleSeconds: 10,
  manyUsers: 20,
  cleanup: true,
};

/** The same checks with short waits (the CLI's --fast and the tests); limits stay as given. */
export const RATE_LIMIT_VALIDATION_FAST: Partial<RateLimitValidationSettings> = {
  refillWaitSeconds: 3,
  agentSessions: 2,
  agentSearchesPerSession: 6,
  agentSessionSeconds: 3,
  agentIdleSeconds: 1,
  manyUsers: 10,
};

export interface RateLimitCheck {
  id: number;
  name: string;
  passed: boolean;
  expected: string;
  observed: string;
  figures: Record<string, number | string | boolean>;
}

export interface RateLimitValidationResult {
  passed: boolean;
  baseUrl: string;
  /** How the API was found: started in the worker, already running there, reused on the port, or given. */
  apiSource: 'started' | 'running' | 'reused' | 'given';
  settings: RateLimitValidationSettings;
  checks: RateLimitCheck[];
  counts: { pass: number; fail: number };
  /** Test users of the checks whose activities completed (a failed activity deletes its own, uncounted). */
  users: number;
  /** Every test user of the run has an e-mail starting with this (to find leftovers of a --no-cleanup run). */
  emailPrefix: string;
  /**
   * Test users deleted through the API under test (DELETE /api/v1/users/me, wherever it runs) and
   * their bucket keys removed from the worker's Redis; absent with cleanup off.
   */
  cleanup?: { usersDeleted: number; keysDeleted: number } | { error: string };
  seconds: number;
}

const CHECKS = 7;
/** Check 5 sends this many writes beyond the limit; check 7 this many reads per user beyond it. */
const WRITE_EXTRA = 5;
const MANY_USERS_EXTRA = 15;
/** Check 6: searches an agent fires together before it reads the results. */
const AGENT_CLUSTER = 3;

const setup = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});
const measure = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

const CHECK_NAMES: Record<number, string> = {
  1: 'burst from a full bucket',
  2: 'next request is limited',
  3: 'refill after a durable timer',
  4: 'independent buckets',
  5: 'write bucket enforces its own limit',
  6: 'realistic agent pattern',
  7: 'many users at once',
};

function settingsFrom(input: RateLimitValidationInput): RateLimitValidationSettings {
  const given = Object.fromEntries(Object.entries(input).filter(([k, v]) => v !== undefined && k !== 'baseUrl'));
  const s = { ...RATE_LIMIT_VALIDATION_DEFAULTS, ...given } as RateLimitValidationSettings;
  const problems = Object.entries(s)
    .filter(([k, v]) => k !== 'cleanup' && (typeof v !== 'number' || !Number.isFinite(v) || v < (k === 'agentIdleSeconds' ? 0 : 1)))
    .map(([k, v]) => `${k} must be a positive number (got ${JSON.stringify(v)})`);
  if (problems.length > 0) {
    throw ApplicationFailure.nonRetryable(`Invalid rateLimitValidation input: ${problems.join('; ')}`, 'InvalidRateLimitValidationInput');
  }
  return s;
}

/**
 * Proves the token bucket against real HTTP traffic (research Pattern 3, Pitfalls 2 and 6): burst,
 * exhaustion, refill after a durable timer, independent buckets, the write bucket, a realistic agent
 * pattern and many users at once. Each check reports pass/fail with the numbers it saw; the run
 * itself only fails when it cannot run (bad input, API unreachable at setup).
 */
export async function rateLimitValidation(input: RateLimitValidationInput = {}): Promise<RateLimitValidationResult> {
  const s = settingsFrom(input);
  const startedAt = Date.now();
  const progress = new ProgressTracker('rateLimitValidation', CHECKS, 'checks');
  const attributes = new ReadinessAttributes();
  attributes.set('rate-limit', 0);

  const api = input.baseUrl ? { baseUrl: input.baseUrl, source: 'given' as const } : await setup.ensureApiServer();
  const { baseUrl } = api;
  await setup.probeRateLimitApi({ baseUrl });
  // Every test user of this run has an e-mail starting with this. Each check's activity registers,
  // uses and deletes its own users through the API: no API key is ever an activity input or result.
  const emailPrefix = `ratelimit-validation-${uuid4().slice(0, 8)}`;
  const users = { baseUrl, emailPrefix, cleanup: s.cleanup };
  const removed: TestUsersReport = { registered: 0, deleted: 0, keysDeleted: 0, errors: [] };
  const account = (r: TestUsersReport) => {
    removed.registered += r.registered;
    removed.deleted += r.deleted;
    removed.keysDeleted += r.keysDeleted;
    removed.errors.push(...r.errors);
  };

  const checks: RateLimitCheck[] = [];
  const publish = () => {
    const done = checks.length;
    progress.publish(`Rate-limit validation against ${baseUrl}`, [
      ['limits', `${s.readLimit} reads / ${s.writeLimit} writes per minute per user`],
      ...checks.map((c): [string, string] => [`${c.id}. ${c.name}`, `${c.passed ? 'PASS' : 'FAIL'} — ${c.observed.replace(/\|/g, '\\|')}`]),
    ]);
    attributes.set('rate-limit', (100 * done) / CHECKS);
  };
  const record = (...results: RateLimitCheck[]) => {
    for (const c of results) {
      checks.push(c);
      progress.advance(1, `check ${c.id} ${c.passed ? 'passed' : 'FAILED'}: ${c.name}`);
    }
    publish();
  };
  const couldNotRun = (ids: number[], reason: string) =>
    record(...ids.map((id) => ({ id, name: CHECK_NAMES[id]!, passed: false, expected: 'the check runs', observed: `could not run: ${reason}`, figures: {} })));
  /** A check whose activity failed is a failed check with the reason, and the next check still runs. */
  const attempt = async (ids: number[], body: () => Promise<void>) => {
    try {
      await body();
    } catch (err) {
      if (isCancellation(err)) throw err;
      couldNotRun(ids, rootCauseMessage(err));
    }
  };
  publish();

  const maxFollowUps = 10 + Math.ceil(s.readLimit / 6);
  let exhausted: ExhaustMeasurement | undefined;
  // Users an activity handed on (sealed) to a later one; the finally deletes them whatever happened.
  const held: HeldUser[] = [];
  try {
    await attempt([1, 2], async () => {
      exhausted = await measure.rateLimitBurstAndHold({ ...users, count: s.readLimit, maxFollowUps });
      held.push(exhausted.held);
      account(exhausted.testUsers);
      record(checkBurst(s.readLimit, exhausted), checkExhaustion(s.readLimit, exhausted));
    });

    await attempt([3], async () => {
      if (!exhausted) throw new Error('check 2 did not run, so there is no emptied bucket to watch refill');
      // A durable timer: the wait survives worker restarts and shows in the history. The emptied
      // user's key crosses it sealed: ciphertext here, its data key in the workers' Redis.
      await sleep(s.refillWaitSeconds * 1000);
      const refill = await measure.rateLimitRefillProbe({
        baseUrl,
        held: exhausted.held,
        exhaustedAt: exhausted.exhaustedAt,
        perMinute: s.readLimit,
        extra: s.refillProbeExtra,
      });
      record(checkRefill(s.readLimit, s.refillWaitSeconds, refill));
    });

    await attempt([4], async () => {
      const independent = await measure.rateLimitIndependentBuckets({ ...users, count: s.readLimit, maxFollowUps });
      account(independent.testUsers);
      record(checkIndependent(s.readLimit, independent));
    });

    await attempt([5], async () => {
      const writes = await measure.rateLimitWriteBurst({ ...users, count: s.writeLimit + WRITE_EXTRA });
      account(writes.testUsers);
      record(checkWrite(s.writeLimit, writes));
    });

    await attempt([6], async () => {
      const { rateLimitAgentSessions } = proxyActivities<Activities>({
        startToCloseTimeout: `${s.agentSessions * (s.agentSessionSeconds + s.agentIdleSeconds) + 120} seconds`,
        heartbeatTimeout: '30 seconds',
        retry: { maximumAttempts: 3, initialInterval: '1 second' },
      });
      const agent = await rateLimitAgentSessions({
        ...users,
        sessions: s.agentSessions,
        searches: s.agentSearchesPerSession,
        windowSeconds: s.agentSessionSeconds,
        idleSeconds: s.agentIdleSeconds,
        clusterSize: AGENT_CLUSTER,
      });
      account(agent.testUsers);
      record(checkAgentPattern(agent.sessions, s.agentIdleSeconds));
    });

    await attempt([7], async () => {
      const many = await measure.rateLimitManyUsers({ ...users, users: s.manyUsers, perUser: s.readLimit + MANY_USERS_EXTRA });
      account(many.testUsers);
      record(checkManyUsers(s.readLimit, many));
    });
  } finally {
    // Runs on cancellation too (in a scope that is not cancelled), so no held user is left behind.
    if (held.length > 0) {
      try {
        account(await CancellationScope.nonCancellable(() => setup.releaseHeldUsers({ baseUrl, held, cleanup: s.cleanup })));
      } catch (err) {
        removed.errors.push(rootCauseMessage(err));
      }
    }
  }

  const pass = checks.filter((c) => c.passed).length;
  const passed = pass === CHECKS;
  progress.finish(passed ? 'succeeded' : 'failed', `${pass}/${CHECKS} checks passed`);
  attributes.set('rate-limit', 100);
  return {
    passed,
    baseUrl,
    apiSource: api.source,
    settings: s,
    checks: checks.sort((a, b) => a.id - b.id),
    counts: { pass, fail: CHECKS - pass },
    users: removed.registered,
    emailPrefix,
    ...(s.cleanup && {
      cleanup: removed.errors.length > 0 ? { error: removed.errors.join('; ') } : { usersDeleted: removed.deleted, keysDeleted: removed.keysDeleted },
    }),
    seconds: Math.round((Date.now() - startedAt) / 100) / 10,
  };
}
