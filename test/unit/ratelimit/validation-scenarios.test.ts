import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiResponse } from '../../../src/api/api-client.js';
import { agentQuery, agentSessionPlan, limitedSample, refillProbePlan, spanSeconds, tally, userAdmission, writeProbeTrace } from '../../../src/ratelimit/validation-scenarios.js';

function response(status: number, sentAt: number, receivedAt: number, extra: Partial<ApiResponse> = {}): ApiResponse {
  return { status, retryAfter: null, rateLimit: null, rateLimitPolicy: null, serverTiming: null, sentAt, receivedAt, ...extra };
}

test('tally counts success, 429 and anything else, and names the first other', () => {
  const responses = [
    response(200, 0, 1),
    response(429, 0, 1),
    response(0, 0, 1, { error: 'ECONNRESET' }),
    response(200, 0, 1),
    response(500, 0, 1, { body: { message: 'boom' } }),
  ];
  assert.deepEqual(tally(responses), {
    total: 5, ok: 2, limited: 1, other: 2, statuses: { '200': 2, '429': 1, error: 1, '500': 1 }, firstOther: 'no response (ECONNRESET)',
  });
  // The write probe counts 201 as success: a 200 is then "other".
  assert.deepEqual(tally([response(201, 0, 1), response(200, 0, 1)], 201), {
    total: 2, ok: 1, limited: 0, other: 1, statuses: { '201': 1, '200': 1 }, firstOther: 'HTTP 200',
  });
});

test('spanSeconds runs from the first send to the last answer', () => {
  assert.equal(spanSeconds([]), 0);
  assert.equal(spanSeconds([response(200, 1_500, 3_500), response(200, 1_000, 1_200)]), 2.5);
});

test('limitedSample keeps only the rate-limit headers', () => {
  assert.equal(limitedSample(undefined), undefined);
  assert.deepEqual(limitedSample(response(429, 0, 1, { retryAfter: '1', rateLimit: '"read";r=0;t=1', rateLimitPolicy: '"read";q=60;w=60', serverTiming: 'db;dur=1' })), {
    retryAfter: '1', rateLimit: '"read";r=0;t=1', rateLimitPolicy: '"read";q=60;w=60',
  });
});

test('the refill probe expects limit/60 tokens a second, capped at the limit, and sends `extra` more', () => {
  const cases: [elapsedSeconds: number, perMinute: number, extra: number, expected: { expectedTokens: number; send: number }][] = [
    [10, 60, 5, { expectedTokens: 10, send: 15 }],
    [3, 20, 0, { expectedTokens: 1, send: 1 }],
    [4.5, 60, 2, { expectedTokens: 4.5, send: 7 }],
    [90, 60, 5, { expectedTokens: 60, send: 65 }],
  ];
  for (const [elapsed, perMinute, extra, expected] of cases) {
    assert.deepEqual(refillProbePlan(elapsed, perMinute, extra), expected, `${elapsed} s at ${perMinute}/min`);
  }
});

test('an agent session spreads its clusters evenly over the window, the last one holding the rest', () => {
  assert.deepEqual(agentSessionPlan(15, 30, 4), [
    { atMs: 0, size: 4 },
    { atMs: 7_500, size: 4 },
    { atMs: 15_000, size: 4 },
    { atMs: 22_500, size: 3 },
  ]);
  assert.deepEqual(agentSessionPlan(6, 3, 3), [
    { atMs: 0, size: 3 },
    { atMs: 1_500, size: 3 },
  ]);
});

test("a user's admission window ends at its last 429, or at its last answer when none was refused", () => {
  const refused = [response(200, 1_000, 1_300), response(429, 1_000, 1_100), response(429, 1_010, 1_150)];
  assert.deepEqual(userAdmission(refused), { allowed: 1, limited: 2, other: 0, seconds: 0.15 });
  const admitted = [response(200, 1_000, 1_200), response(200, 1_005, 1_400), response(503, 1_005, 1_010)];
  assert.deepEqual(userAdmission(admitted), { allowed: 2, limited: 0, other: 1, seconds: 0.4 });
});

test('searches cycle through the eight agent queries; write probes are numbered from 1', () => {
  assert.equal(agentQuery(0), 'docker compose healthcheck for postgres service');
  assert.equal(agentQuery(8), 'docker compose healthcheck for postgres service');
  assert.equal(agentQuery(13), 'pgvector hnsw index not used by the planner');
  assert.equal(writeProbeTrace(0).title, 'Rate-limit validation contribution 1');
  assert.equal(writeProbeTrace(19).agent_version, 'rate-limit-validation');
});
