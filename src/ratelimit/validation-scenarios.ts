/**
 * The traffic of the rate-limit validation, without the I/O: what each check sends (queries, burst
 * width, the refill probe's size, an agent session's pacing, the write probe's trace) and how the
 * responses become the measurements that src/workflows/rate-limit-checks.ts judges. The activities
 * (src/activities/rate-limit.ts) send the requests and call these.
 */
import { describe, type ApiResponse, type TraceContribution } from '../api/api-client.js';

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

/** The `i`-th search of a check, cycling through the agent queries. */
export const agentQuery = (i: number): string => AGENT_QUERIES[i % AGENT_QUERIES.length]!;

/** Sockets in flight for one user's burst: a burst of 60 is a single wave. */
export const MAX_IN_FLIGHT = 64;

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
  /**
   * The independence check's other user, emptied by an earlier burst, probed just before this one:
   * its requests one at a time until its 429 (status: the last one's), how many were allowed first,
   * and the seconds from its earlier 429 to that last response, over which its bucket refilled.
   */
  otherUser?: { status: number; allowedBeforeLimit: number; secondsSinceEmpty: number };
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

/** One user's share of check 7: `seconds` is its admission window (first request to last 429). */
export interface UserAdmission {
  allowed: number;
  limited: number;
  other: number;
  seconds: number;
}

export interface ManyUsersMeasurement {
  perUser: UserAdmission[];
  tally: StatusTally;
  seconds: number;
}

/** Counts the responses by status: `okStatus` is success, 429 limited, anything else (0 = no answer) other. */
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

/** The rate-limit headers of a 429, for check 2's header rules. */
export const limitedSample = (r: ApiResponse | undefined): LimitedSample | undefined =>
  r && { retryAfter: r.retryAfter, rateLimit: r.rateLimit, rateLimitPolicy: r.rateLimitPolicy };

/** First request sent to last response received, in seconds (0 for none). */
export const spanSeconds = (responses: readonly ApiResponse[]): number =>
  responses.length === 0 ? 0 : (Math.max(...responses.map((r) => r.receivedAt)) - Math.min(...responses.map((r) => r.sentAt))) / 1000;

/**
 * Check 3's probe: the tokens refilled `elapsedSeconds` after the bucket emptied (limit/60 a second,
 * capped at the limit), and how many requests to send: those plus `extra` that must be refused.
 */
export function refillProbePlan(elapsedSeconds: number, perMinute: number, extra: number): { expectedTokens: number; send: number } {
  const expectedTokens = Math.min(perMinute, (elapsedSeconds * perMinute) / 60);
  return { expectedTokens, send: Math.round(expectedTokens) + extra };
}

/**
 * One agent working session: `searches` requests in clusters of `clusterSize` (an agent fires a
 * few lookups, then reads and edits), the clusters spread evenly over `windowSeconds`. Returns each
 * cluster's start offset from the session's start and its size.
 */
export function agentSessionPlan(searches: number, windowSeconds: number, clusterSize: number): { atMs: number; size: number }[] {
  const clusters = Math.ceil(searches / clusterSize);
  const gapMs = (windowSeconds * 1000) / clusters;
  return Array.from({ length: clusters }, (_, c) => ({ atMs: c * gapMs, size: Math.min(clusterSize, searches - c * clusterSize) }));
}

/**
 * One user's admission in check 7. Refused requests are answered the moment the bucket decides,
 * while allowed ones go on to search, so the window ends at the last 429 (or the last response when
 * none was refused): tokens refilled inside it are the only legitimate extra admissions.
 */
export function userAdmission(responses: readonly ApiResponse[]): UserAdmission {
  const t = tally(responses);
  const refused = responses.filter((r) => r.status === 429);
  const first = Math.min(...responses.map((r) => r.sentAt));
  const last = Math.max(...(refused.length > 0 ? refused : responses).map((r) => r.receivedAt));
  return { allowed: t.ok, limited: t.limited, other: t.other, seconds: Math.round(last - first) / 1000 };
}

/** Check 5's `i`-th contribution: a trace that exists only to spend a write token. */
export function writeProbeTrace(i: number): TraceContribution {
  return {
    title: `Rate-limit validation contribution ${i + 1}`,
    context: 'Written by the rateLimitValidation workflow to exercise the write bucket; deleted with its test user.',
    solution: 'No solution: this trace only measures the write limit.',
    agent_model: 'commontrace-launch',
    agent_version: 'rate-limit-validation',
  };
}
