/**
 * The token bucket (DESIGN.md §6): capacity = the per-minute limit, refilled at limit/60 tokens per
 * second, state in Redis under rl:{subject}:{bucket}. The subject is a user id for the read and write
 * buckets (rl:{user_id}:{read|write}) and `addr:<client address>` for registration
 * (rl:addr:{address}:register); user ids are UUIDs, so the two never collide. The Lua script does
 * refill and take atomically on the Redis clock, so any number of API replicas share one exact budget.
 */
import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';

export type BucketName = 'read' | 'write' | 'register';
export const BUCKET_NAMES: readonly BucketName[] = ['read', 'write', 'register'];
/** The buckets kept per user (register is kept per client address). */
export const USER_BUCKET_NAMES: readonly BucketName[] = ['read', 'write'];

/** Time for an empty bucket to refill completely: the limits are per minute. */
export const REFILL_WINDOW_SECONDS = 60;
/** Outlives a full refill (60 s), so a key only expires once it would read as full anyway. */
export const BUCKET_TTL_SECONDS = 120;
/** Keeps capacity × window in microseconds below 2^53, where the script's integers stay exact. */
export const MAX_CAPACITY = 100_000_000;
/**
 * A limiter that cannot answer within this counts as down (the fail mode decides): the API must not
 * hang on Redis, yet a busy machine must not flip decisions to fail-open either.
 */
export const DEFAULT_LIMITER_TIMEOUT_MS = 1_000;

const SCRIPT = readFileSync(new URL('./token-bucket.lua', import.meta.url), 'utf8');
const COMMAND = 'commontraceTokenBucket';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    commontraceTokenBucket(
      key: string,
      capacity: number,
      windowSeconds: number,
      cost: number,
      ttlSeconds: number,
    ): Result<[number, number, number, number], Context>;
  }
}

export interface BucketDecision {
  allowed: boolean;
  limit: number;
  /** Whole tokens left after this take. */
  remaining: number;
  /** 0 when allowed; otherwise how long until `cost` tokens are back. */
  retryAfterMs: number;
  /** How long until the bucket is full again. */
  resetMs: number;
}

export class LimiterUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`rate limiter unavailable: ${(cause as Error).message ?? String(cause)}`);
    this.name = 'LimiterUnavailableError';
  }
}

/** rl:{subject}:{bucket}, where subject is a user id or addressSubject(address). */
export function bucketKey(subject: string, bucket: BucketName): string {
  return `rl:${subject}:${bucket}`;
}

/** The subject of a per-address bucket: `addr:<address>`, so its key reads rl:addr:<address>:<bucket>. */
export function addressSubject(address: string): string {
  return `addr:${address}`;
}

/** Throws unless the Lua script can hold this capacity exactly (see MAX_CAPACITY). */
export function assertCapacity(capacity: number): void {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY) {
    throw new RangeError(`bucket capacity must be an integer in 1..${MAX_CAPACITY}, got ${capacity}`);
  }
}

export class TokenBucket {
  constructor(
    private readonly redis: Redis,
    private readonly timeoutMs = DEFAULT_LIMITER_TIMEOUT_MS,
  ) {
    // defineCommand loads the script by SHA (EVALSHA, falling back to EVAL once per connection).
    if (typeof (redis as Partial<Redis>)[COMMAND] !== 'function') redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: SCRIPT });
  }

  /**
   * Takes `cost` tokens from the subject's bucket (a user id, or addressSubject(...)) if available.
   * Throws LimiterUnavailableError when Redis fails or is slow.
   */
  async take(subject: string, bucket: BucketName, capacity: number, cost = 1): Promise<BucketDecision> {
    assertCapacity(capacity);
    if (!Number.isInteger(cost) || cost < 1 || cost > capacity) {
      throw new RangeError(`cost must be an integer in 1..capacity (${capacity}), got ${cost}`);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const [allowed, remaining, retryAfterMs, resetMs] = await Promise.race([
        this.redis[COMMAND](bucketKey(subject, bucket), capacity, REFILL_WINDOW_SECONDS, cost, BUCKET_TTL_SECONDS),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      return { allowed: allowed === 1, limit: capacity, remaining, retryAfterMs, resetMs };
    } catch (err) {
      throw new LimiterUnavailableError(err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Deletes exactly these users' read and write buckets (never FLUSHALL: other state shares the instance). */
  async reset(userIds: readonly string[]): Promise<number> {
    if (userIds.length === 0) return 0;
    return this.redis.del(...userIds.flatMap((id) => USER_BUCKET_NAMES.map((b) => bucketKey(id, b))));
  }
}
