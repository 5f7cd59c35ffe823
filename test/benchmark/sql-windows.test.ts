import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { measureConcurrency } from '../../src/benchmark/sql-bench.js';
import type { QuerySet } from '../../src/benchmark/query-set.js';
import { encodeVector } from '../../src/db/vector-binary.js';
import { embedLocal, LOCAL_MODEL_ID } from '../../src/embeddings/local.js';
import { baseConfig, uniqueName } from '../helpers/config.js';
import { closeTestPool } from '../helpers/db.js';
import { insertSearchableTraces } from '../helpers/api.js';

const TAG = uniqueName('sqlwin');
let cleanup: () => Promise<void>;

const TOPICS = ['docker compose healthcheck', 'postgres vacuum bloat', 'kubernetes pod crashloop'];

/** What timedStatement reads of a query set: the encoded vectors and the model id. */
const set = {
  spec: { modelId: LOCAL_MODEL_ID },
  params: TOPICS.map((t) => encodeVector(embedLocal(`${t} question`))),
} as unknown as QuerySet;

before(async () => {
  ({ cleanup } = await insertSearchableTraces(
    `${TAG}@example.com`,
    TOPICS.flatMap((t, i) => [0, 1].map((j) => ({ title: `${t} ${j}`, context: `how to ${t}, case ${i}.${j}`, solution: `fix ${t} like this ${j}`, tags: [] }))),
  ));
});

after(async () => {
  await cleanup?.();
  await closeTestPool();
});

test('a 6 s phase over 2 processes reports two time windows whose counts and errors add up to the phase’s', async () => {
  const r = await measureConcurrency(set, 'raw', 2, 6, { databaseUrl: baseConfig.databaseUrl, efSearch: 40, k: 5, processes: 2 });
  assert.ok(r.queries > 0, JSON.stringify(r));
  // ⌈6 / 5⌉ windows: a full one, then the rest of the run.
  assert.deepEqual(r.windows.map((w) => w.startSeconds), [0, 5]);
  assert.equal(r.windows[0]!.seconds, 5);
  assert.ok(r.windows[1]!.seconds > 0, JSON.stringify(r.windows));
  assert.equal(r.windows.reduce((n, w) => n + w.count, 0), r.queries);
  assert.equal(r.windows.reduce((n, w) => n + w.errors, 0), r.errors);
  for (const w of r.windows) {
    assert.ok(w.count > 0 && w.p99 >= w.p50 && w.p50 > 0, JSON.stringify(w));
    assert.equal(w.qps, Math.round((w.count / w.seconds) * 10) / 10);
  }
  // Two windows are too few to judge a trend.
  assert.deepEqual(r.drift, { drifting: false, reason: null });
});
