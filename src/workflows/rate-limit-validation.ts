import { ApplicationFailure, CancellationScope, isCancellation, proxyActivities, sleep, uuid4 } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RegisteredUser } from '../api/client.js';
import type { BurstMeasurement } from '../activities/rate-limit.js';
import {
  RATE_LIMIT_VALIDATION_DEFAULTS,
  type RateLimitCheck,
  type RateLimitValidationInput,
  type RateLimitValidationResult,
  type RateLimitValidationSettings,
} from './messages.js';
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
  // Only this run's users are ever reset or deleted: they share this prefix.
  const emailPrefix = `ratelimit-validation-${uuid4().slice(0, 8)}`;
  const roles = ['burst', 'second', 'writer', 'agent', ...Array.from({ length: s.manyUsers }, (_, i) => `crowd${i + 1}`)];
  let registered: (RegisteredUser & { role: string })[] = [];
  const user = (role: string): RegisteredUser => registered.find((u) => u.role === role)!;

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
  let exhausted: BurstMeasurement | undefined;
  let cleanup: RateLimitValidationResult['cleanup'];
  try {
    registered = await setup.registerRateLimitUsers({ baseUrl, emailPrefix, roles });
    await setup.resetRateLimitBuckets({ userIds: registered.map((u) => u.userId) });

    await attempt([1, 2], async () => {
      exhausted = await measure.rateLimitBurst({ baseUrl, user: user('burst'), count: s.readLimit, maxFollowUps });
      record(checkBurst(s.readLimit, exhausted), checkExhaustion(s.readLimit, exhausted));
    });

    await attempt([3], async () => {
      if (!exhausted) throw new Error('check 2 did not run, so there is no emptied bucket to watch refill');
      // A durable timer: the wait survives worker restarts and shows in the history.
      await sleep(s.refillWaitSeconds * 1000);
      const refill = await measure.rateLimitRefillProbe({
        baseUrl,
        user: user('burst'),
        exhaustedAt: exhausted.exhaustedAt,
        perMinute: s.readLimit,
        extra: s.refillProbeExtra,
      });
      record(checkRefill(s.readLimit, s.refillWaitSeconds, refill));
    });

    await attempt([4], async () => {
      const independent = await measure.rateLimitBurst({ baseUrl, user: user('second'), count: s.readLimit, maxFollowUps, otherUser: user('burst') });
      record(checkIndependent(s.readLimit, independent));
    });

    await attempt([5], async () => {
      const writes = await measure.rateLimitWriteBurst({ baseUrl, user: user('writer'), count: s.writeLimit + WRITE_EXTRA });
      record(checkWrite(s.writeLimit, writes));
    });

    await attempt([6], async () => {
      const { rateLimitAgentSession } = proxyActivities<Activities>({
        startToCloseTimeout: `${s.agentSessionSeconds + 60} seconds`,
        heartbeatTimeout: '30 seconds',
        retry: { maximumAttempts: 3, initialInterval: '1 second' },
      });
      const sessions = [];
      for (let i = 0; i < s.agentSessions; i++) {
        if (i > 0) await sleep(s.agentIdleSeconds * 1000);
        sessions.push(
          await rateLimitAgentSession({
            baseUrl,
            user: user('agent'),
            searches: s.agentSearchesPerSession,
            windowSeconds: s.agentSessionSeconds,
            clusterSize: AGENT_CLUSTER,
          }),
        );
      }
      record(checkAgentPattern(sessions, s.agentIdleSeconds));
    });

    await attempt([7], async () => {
      const crowd = roles.filter((r) => r.startsWith('crowd')).map(user);
      const many = await measure.rateLimitManyUsers({ baseUrl, users: crowd, perUser: s.readLimit + MANY_USERS_EXTRA });
      record(checkManyUsers(s.readLimit, many));
    });
  } finally {
    // Runs on cancellation too (in a scope that is not cancelled), so no test users are left behind.
    if (s.cleanup) {
      try {
        cleanup = await CancellationScope.nonCancellable(() => setup.cleanupRateLimitUsers({ emailPrefix, userIds: registered.map((u) => u.userId) }));
      } catch (err) {
        cleanup = { error: rootCauseMessage(err) };
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
    users: registered.length,
    emailPrefix,
    ...(cleanup !== undefined && { cleanup }),
    seconds: Math.round((Date.now() - startedAt) / 100) / 10,
  };
}
