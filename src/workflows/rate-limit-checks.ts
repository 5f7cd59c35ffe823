/**
 * The verdicts of the seven rate-limit checks, as pure functions of what the activities measured.
 *
 * Refill happens while requests are in flight: a bucket refilling at limit/60 tokens per second can
 * legitimately admit ceil(seconds × limit/60) more requests than its capacity during a burst that
 * lasts `seconds`. Each bound below allows exactly that and no more, and reports it, so "exactly
 * the limit" stays exact when bursts are quick and honest when the machine is slow.
 */
import type {
  AgentSessionMeasurement,
  BurstMeasurement,
  LimitedSample,
  ManyUsersMeasurement,
  RefillMeasurement,
  StatusTally,
  WriteMeasurement,
} from '../ratelimit/validation-scenarios.js';
import type { RateLimitCheck } from './rate-limit-validation.js';

/** Check 3's tolerance: the research's 8–12 around 10 expected. */
export const REFILL_TOLERANCE_TOKENS = 2;

export function refillDuring(seconds: number, perMinute: number): number {
  return Math.ceil((seconds * perMinute) / 60);
}

const statuses = (t: StatusTally) =>
  Object.entries(t.statuses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, n]) => `${n}×${s}`)
    .join(', ');

const secs = (s: number) => `${s.toFixed(2)} s`;

/** What a 429 must carry: Retry-After in whole seconds ≥ 1, and both IETF RateLimit fields. */
export function limitedHeadersProblem(s: LimitedSample | undefined): string | null {
  if (!s) return 'no 429 to inspect';
  if (s.retryAfter === null || !/^\d+$/.test(s.retryAfter) || Number(s.retryAfter) < 1) return `Retry-After is ${JSON.stringify(s.retryAfter)}, not whole seconds ≥ 1`;
  if (!s.rateLimit || !/;r=\d+/.test(s.rateLimit)) return `RateLimit header is ${JSON.stringify(s.rateLimit)}`;
  if (!s.rateLimitPolicy || !/;q=\d+/.test(s.rateLimitPolicy)) return `RateLimit-Policy header is ${JSON.stringify(s.rateLimitPolicy)}`;
  return null;
}

export function checkBurst(limit: number, m: BurstMeasurement): RateLimitCheck {
  return {
    id: 1,
    name: 'burst from a full bucket',
    passed: m.tally.ok === limit && m.tally.total === limit,
    expected: `all ${limit} concurrent searches succeed`,
    observed: `${m.tally.ok}/${m.tally.total} succeeded in ${secs(m.seconds)} (${statuses(m.tally)})`,
    figures: { sent: m.tally.total, ok: m.tally.ok, limited: m.tally.limited, other: m.tally.other, seconds: m.seconds },
  };
}

export function checkExhaustion(limit: number, m: BurstMeasurement): RateLimitCheck {
  const allowance = refillDuring(m.secondsToLimit, limit);
  const headers = limitedHeadersProblem(m.limitedSample);
  const passed = m.limited && m.followUpsAllowed <= allowance && headers === null;
  const seen = m.limited
    ? `429 after ${m.followUpsAllowed} more allowed (≤ ${allowance} refilled in ${secs(m.secondsToLimit)}); ` +
      `Retry-After ${m.limitedSample?.retryAfter}, RateLimit ${m.limitedSample?.rateLimit}, RateLimit-Policy ${m.limitedSample?.rateLimitPolicy}`
    : `no 429 in ${m.followUpsSent} follow-up requests`;
  return {
    id: 2,
    name: 'next request is limited',
    passed,
    expected: 'the next request gets 429 with Retry-After and RateLimit headers',
    observed: headers && m.limited ? `${seen}; ${headers}` : seen,
    figures: {
      limited: m.limited,
      allowedBeforeLimit: m.followUpsAllowed,
      refillAllowance: allowance,
      retryAfter: m.limitedSample?.retryAfter ?? '',
      rateLimit: m.limitedSample?.rateLimit ?? '',
      rateLimitPolicy: m.limitedSample?.rateLimitPolicy ?? '',
    },
  };
}

export function checkRefill(limit: number, waitSeconds: number, m: RefillMeasurement): RateLimitCheck {
  const nominal = (waitSeconds * limit) / 60;
  const low = Math.max(0, Math.round(m.expectedTokens - REFILL_TOLERANCE_TOKENS));
  const high = Math.round(m.expectedTokens + REFILL_TOLERANCE_TOKENS);
  return {
    id: 3,
    name: 'refill after a durable timer',
    passed: m.tally.ok >= low && m.tally.ok <= high && m.tally.other === 0,
    expected: `after the ${waitSeconds} s timer, ${low}–${high} of ${m.tally.total} succeed (≈ ${nominal.toFixed(0)} refilled)`,
    observed: `${m.tally.ok}/${m.tally.total} succeeded, ${m.tally.limited} limited; ${m.expectedTokens} tokens expected after ${secs(m.elapsedSeconds)} since the bucket emptied`,
    figures: { waitSeconds, elapsedSeconds: m.elapsedSeconds, expectedTokens: m.expectedTokens, sent: m.tally.total, ok: m.tally.ok, limited: m.tally.limited, low, high },
  };
}

export function checkIndependent(limit: number, m: BurstMeasurement): RateLimitCheck {
  const allowance = refillDuring(m.secondsToLimit, limit);
  const a = m.otherUser;
  const aAllowance = a ? refillDuring(a.secondsSinceEmpty, limit) : 0;
  const otherLimited = a !== undefined && a.status === 429 && a.allowedBeforeLimit <= aAllowance;
  const passed = otherLimited && m.tally.ok === limit && m.tally.total === limit && m.limited && m.followUpsAllowed <= allowance;
  return {
    id: 4,
    name: 'independent buckets',
    passed,
    expected: `user A (empty) gets 429, after no more than what refilled since it was emptied, while user B gets all ${limit}, then B is limited on its own`,
    observed:
      `A: ${a ? `${a.status} after ${a.allowedBeforeLimit} allowed (≤ ${aAllowance} refilled in ${secs(a.secondsSinceEmpty)})` : 'not probed'}; ` +
      `B: ${m.tally.ok}/${m.tally.total} succeeded (${statuses(m.tally)}), ` +
      (m.limited ? `then 429 after ${m.followUpsAllowed} more (≤ ${allowance})` : `no 429 in ${m.followUpsSent} follow-ups`),
    figures: {
      userAStatus: a?.status ?? 0, userAAllowed: a?.allowedBeforeLimit ?? 0, userARefillAllowance: aAllowance,
      userBOk: m.tally.ok, userBSent: m.tally.total, userBLimitedAfter: m.limited, allowedBeforeLimit: m.followUpsAllowed,
    },
  };
}

export function checkWrite(writeLimit: number, m: WriteMeasurement): RateLimitCheck {
  const allowance = refillDuring(m.seconds, writeLimit);
  const passed = m.tally.ok >= writeLimit && m.tally.ok <= writeLimit + allowance && m.tally.limited === m.tally.total - m.tally.ok && m.tally.limited > 0 && m.readAfterStatus === 200;
  return {
    id: 5,
    name: 'write bucket enforces its own limit',
    passed,
    expected: `${writeLimit} of ${m.tally.total} concurrent writes created (+≤ ${allowance} refilled), the rest 429; reads still allowed`,
    observed: `${m.tally.ok} created, ${m.tally.limited} limited in ${secs(m.seconds)} (${statuses(m.tally)}); a read right after got ${m.readAfterStatus}`,
    figures: { sent: m.tally.total, created: m.tally.ok, limited: m.tally.limited, other: m.tally.other, refillAllowance: allowance, readAfterStatus: m.readAfterStatus },
  };
}

export function checkAgentPattern(sessions: AgentSessionMeasurement[], idleSeconds: number): RateLimitCheck {
  const total = sessions.reduce((n, s) => n + s.tally.total, 0);
  const ok = sessions.reduce((n, s) => n + s.tally.ok, 0);
  const limited = sessions.reduce((n, s) => n + s.tally.limited, 0);
  const perSession = sessions.map((s) => `${s.tally.ok}/${s.tally.total} in ${secs(s.seconds)}`).join(', then ');
  return {
    id: 6,
    name: 'realistic agent pattern',
    passed: sessions.length > 0 && limited === 0 && ok === total,
    expected: `every search of ${sessions.length} bursty sessions (idle ${idleSeconds} s between) succeeds: zero 429s`,
    observed: `${perSession}; ${limited} limited, ${total - ok - limited} other`,
    figures: { sessions: sessions.length, searches: total, ok, limited },
  };
}

export function checkManyUsers(limit: number, m: ManyUsersMeasurement): RateLimitCheck {
  const bounds = m.perUser.map((u) => ({ ...u, high: limit + refillDuring(u.seconds, limit) }));
  const wrong = bounds.filter((u) => u.allowed < limit || u.allowed > u.high || u.other > 0);
  const perUser = m.tally.total / Math.max(1, m.perUser.length);
  const inconclusive = bounds.some((u) => u.high >= perUser);
  const allowed = m.perUser.map((u) => u.allowed);
  const maxAllowance = Math.max(0, ...bounds.map((u) => u.high - limit));
  return {
    id: 7,
    name: 'many users at once',
    passed: m.perUser.length > 0 && wrong.length === 0 && !inconclusive,
    expected: `each of ${m.perUser.length} users sending ${perUser} at once gets exactly ${limit} (+≤ ${maxAllowance} refilled while admitting)`,
    observed:
      `allowed per user ${Math.min(...allowed)}–${Math.max(...allowed)}; ${wrong.length} user(s) outside the bound; ` +
      `${m.tally.total} requests in ${secs(m.seconds)}, admitted within ${secs(Math.max(0, ...m.perUser.map((u) => u.seconds)))} per user (${statuses(m.tally)})` +
      (inconclusive ? '; inconclusive: the run was so slow that refill could cover every extra request' : ''),
    figures: {
      users: m.perUser.length,
      perUser,
      minAllowed: Math.min(...allowed),
      maxAllowed: Math.max(...allowed),
      usersOutOfBound: wrong.length,
      maxRefillAllowance: maxAllowance,
      seconds: m.seconds,
    },
  };
}
