/**
 * The rate-limit hooks, with the IETF RateLimit headers
 * (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy: "read";q=60;w=60` names the bucket,
 * its quota and window; `RateLimit: "read";r=<remaining>;t=<seconds until full>` is the live state.
 * A refused request also gets `Retry-After` in whole seconds, rounded up, so a client that honours
 * it never comes back too early.
 *
 * The read and write buckets count per API key owner (request.userId, so they run after the auth
 * hook); the register bucket counts per client address (limitAddress(request.ip)), before the body is read.
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { addressSubject, assertCapacity, REFILL_WINDOW_SECONDS, type BucketName, type TokenBucket } from '../ratelimit/token-bucket.js';
import { limitAddress } from './client-address.js';
import type { ApiMetrics } from './metrics.js';

/** One warning per interval while Redis is down, with the count, instead of one per request. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

export function policyHeader(bucket: BucketName, limit: number): string {
  return `"${bucket}";q=${limit};w=${REFILL_WINDOW_SECONDS}`;
}

export function stateHeader(bucket: BucketName, remaining: number, resetMs: number): string {
  return `"${bucket}";r=${remaining};t=${Math.ceil(resetMs / 1000)}`;
}

export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}

export function limitFor(config: Config['rateLimit'], bucket: BucketName): number {
  switch (bucket) {
    case 'read':
      return config.readPerMinute;
    case 'write':
      return config.writePerMinute;
    case 'register':
      return config.registerPerMinute;
  }
}

/** Whose budget a request spends: the caller's user id, or its client address for registration. */
export function subjectOf(bucket: BucketName, request: FastifyRequest): string {
  // request.ip is typed string, but is undefined when the socket has already closed.
  return bucket === 'register' ? addressSubject(limitAddress(request.ip as string | undefined)) : request.userId;
}

const SCOPE: Record<BucketName, string> = { read: 'per API key', write: 'per API key', register: 'per client address' };

class FailureLog {
  private lastLoggedAt = 0;
  private suppressed = 0;

  record(log: FastifyBaseLogger, bucket: BucketName, mode: 'open' | 'closed', err: Error): void {
    const now = Date.now();
    if (now - this.lastLoggedAt < FAILURE_LOG_INTERVAL_MS) {
      this.suppressed++;
      return;
    }
    log.warn(
      { bucket, failMode: mode, suppressed: this.suppressed, err: err.message },
      mode === 'open'
        ? 'rate limiter unavailable: failing open, requests pass unlimited until Redis answers again'
        : 'rate limiter unavailable: failing closed, requests get 503 until Redis answers again',
    );
    this.lastLoggedAt = now;
    this.suppressed = 0;
  }
}

export function rateLimit(bucket: BucketName, limiter: TokenBucket, config: Config['rateLimit'], metrics: ApiMetrics) {
  const limit = limitFor(config, bucket);
  // A capacity the limiter refuses would make every request a limiter failure: refuse it at start.
  assertCapacity(limit);
  const policy = policyHeader(bucket, limit);
  const failures = new FailureLog();

  return async function rateLimitHook(request: FastifyRequest, reply: FastifyReply) {
    reply.header('RateLimit-Policy', policy);
    let decision;
    try {
      decision = await limiter.take(subjectOf(bucket, request), bucket, limit);
    } catch (err) {
      metrics.rateLimitFailures.inc({ bucket, mode: config.failMode });
      failures.record(request.log, bucket, config.failMode, err as Error);
      if (config.failMode === 'open') return;
      return reply
        .code(503)
        .header('Retry-After', '1')
        .send({ error: 'rate_limiter_unavailable', message: 'The rate limiter is unavailable, so requests are refused (fail-closed). Retry shortly.' });
    }
    reply.header('RateLimit', stateHeader(bucket, decision.remaining, decision.resetMs));
    if (decision.allowed) {
      metrics.rateLimitAllowed.inc({ bucket });
      return;
    }
    metrics.rateLimitLimited.inc({ bucket });
    const seconds = retryAfterSeconds(decision.retryAfterMs);
    return reply
      .code(429)
      .header('Retry-After', String(seconds))
      .send({
        error: 'rate_limited',
        message: `The ${bucket} limit is ${limit} requests per minute ${SCOPE[bucket]}. Retry after ${seconds} s.`,
        retry_after_seconds: seconds,
      });
  };
}
