/**
 * What a caller makes of the API's /healthz before a run: a CommonTrace API answering 503 (a
 * dependency down or slow right now) is worth retrying; anything else that is not a 200 is not.
 * Against small HTTP servers on loopback that answer /healthz as told.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../../src/activities/deps.js';
import { createRateLimitActivities } from '../../src/activities/rate-limit.js';
import { dependencyStates, isDegradedCommonTrace, SERVICE_NAME } from '../../src/api/health.js';
import { HttpTargetError, runHttpLoad } from '../../src/benchmark/http-load.js';

test('isDegradedCommonTrace: only a 503 that names this service', () => {
  const cases: [string, { status: number; body?: { service?: string } }, boolean][] = [
    ['503 from this API', { status: 503, body: { service: 'commontrace-api' } }, true],
    ['503 from something else', { status: 503, body: { service: 'other' } }, false],
    ['503 without a body', { status: 503 }, false],
    ['500 from this API', { status: 500, body: { service: 'commontrace-api' } }, false],
    ['200 from this API', { status: 200, body: { service: 'commontrace-api' } }, false],
    ['no response', { status: 0 }, false],
  ];
  for (const [name, res, expected] of cases) assert.equal(isDegradedCommonTrace(res), expected, name);
  assert.equal(SERVICE_NAME, 'commontrace-api');
  assert.equal(dependencyStates({ database: 'down', redis: 'ok' }), 'database down, redis ok');
  assert.equal(dependencyStates(undefined), 'database unknown, redis unknown');
});

/** A server whose /healthz answers `status` with `body`. */
async function healthServer(status: number, body: object): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    res.statusCode = req.url === '/healthz' ? status : 404;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

let degraded: { url: string; server: Server };
let foreign: { url: string; server: Server };
before(async () => {
  degraded = await healthServer(503, { service: SERVICE_NAME, status: 'down', database: 'down', redis: 'ok' });
  foreign = await healthServer(503, { error: 'Service Unavailable' });
});
after(() => {
  redis.disconnect();
  degraded.server.close();
  foreign.server.close();
});

// The probe touches neither Redis nor a database: a client that never connects is enough to build the activities.
const redis = new Redis({ lazyConnect: true });
const probe = createRateLimitActivities({ redis } as ActivityDeps).probeRateLimitApi;

test('the rate-limit probe retries a degraded CommonTrace API and fails for good on anything else', async () => {
  await assert.rejects(new MockActivityEnvironment().run(probe, { baseUrl: degraded.url }), (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'ApiDegraded');
    assert.equal(err.nonRetryable, false);
    assert.match(err.message, /is degraded \(database down, redis ok\)/);
    return true;
  });
  await assert.rejects(new MockActivityEnvironment().run(probe, { baseUrl: foreign.url }), (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'ApiUnhealthy');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /GET \/healthz answered HTTP 503\. Is .* a CommonTrace API\?/);
    return true;
  });
});

test('the HTTP load: a degraded CommonTrace API is an ordinary (retried) error, anything else a target error', async () => {
  const options = (baseUrl: string) => ({ baseUrl, users: 1, seconds: 1, queries: ['q'], limit: 5, runTag: 'health', warmupSeconds: 0 });
  await assert.rejects(runHttpLoad(options(degraded.url)), (err: unknown) => {
    assert.ok(err instanceof Error && !(err instanceof HttpTargetError), String(err));
    assert.match(err.message, /is degraded \(database down, redis ok\)/);
    return true;
  });
  await assert.rejects(runHttpLoad(options(foreign.url)), (err: unknown) => {
    assert.ok(err instanceof HttpTargetError);
    assert.match(err.message, /GET \/healthz answered 503\); start it, or skip the HTTP phase/);
    return true;
  });
});
