import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { measureConcurrency } from '../../src/benchmark/sql-bench.js';
import { stopIdleChildren } from '../../src/benchmark/harness/run-child.js';
import type { QuerySet } from '../../src/benchmark/query-set.js';
import { encodeVector } from '../../src/db/vector-binary.js';
import { embedLocal, LOCAL_MODEL_ID } from '../../src/embeddings/local.js';
import { baseConfig, uniqueName } from '../helpers/config.js';
import { closeTestPool, testPool, waitFor } from '../helpers/db.js';
import { insertSearchableTraces } from '../helpers/api.js';
import { harnessChildren } from '../helpers/harness-children.js';

const TAG = uniqueName('sqlconc');
let cleanup: () => Promise<void>;

const TOPICS = ['docker compose healthcheck', 'react useEffect runs twice', 'postgres vacuum bloat', 'kubernetes pod crashloop', 'python venv activate'];

/** What timedStatement reads of a query set: the encoded vectors and the model id. */
const set = {
  spec: { modelId: LOCAL_MODEL_ID },
  params: TOPICS.map((t) => encodeVector(embedLocal(`${t} question`))),
} as unknown as QuerySet;

const options = (extra: Partial<Parameters<typeof measureConcurrency>[4]> = {}) => ({ databaseUrl: baseConfig.databaseUrl, efSearch: 40, k: 5, ...extra });

before(async () => {
  // A tiny searchable table: both statements answer from it (by index or by scan, either is fine here).
  ({ cleanup } = await insertSearchableTraces(
    `${TAG}@example.com`,
    TOPICS.flatMap((t, i) => [0, 1, 2].map((j) => ({ title: `${t} ${j}`, context: `how to ${t}, case ${i}.${j}`, solution: `fix ${t} like this ${j}`, tags: [] }))),
  ));
});

after(async () => {
  await cleanup?.();
  await closeTestPool();
});

/** How many of the lanes' connections (by their application names) the server still has. */
async function lanesOpen(kind: 'raw' | 'search', clients: number): Promise<number> {
  const names = Array.from({ length: clients }, (_, i) => `benchmark:concurrency:${kind}:${clients}:${i}`);
  const { rows } = await testPool().query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = ANY($1)', [names],
  );
  return rows[0]!.n;
}

test('raw floor, 2 clients over 2 processes: queries come from the children, with their harness figures', async () => {
  const progress: number[] = [];
  const r = await measureConcurrency(set, 'raw', 2, 1, options({ processes: 2, onProgress: (done) => progress.push(done) }));
  assert.equal(r.statement, 'raw');
  assert.equal(r.clients, 2);
  assert.ok(r.queries > 0, JSON.stringify(r));
  assert.equal(r.errors, 0);
  assert.equal(r.errorRate, 0);
  assert.equal(r.latency.count, r.queries);
  assert.ok(r.qps > 0 && r.seconds > 0);
  assert.equal(r.harness.processes, 2);
  assert.equal(r.harness.scheduleLagP99Ms, null);
  assert.ok(r.harness.cpuShare >= 0 && r.harness.eventLoopDelayP99Ms >= 0, JSON.stringify(r.harness));
  assert.equal(r.harness.saturated, r.harness.reason !== null);
  assert.equal(progress.at(-1), r.queries + r.errors);
  // Both children wait, idle, for the next phase's job, with their lanes' connections closed.
  assert.equal(harnessChildren().length, 2);
  await waitFor(async () => (await lanesOpen('raw', 2)) === 0, 30_000, 'the finished lanes’ connections to close');
  await stopIdleChildren();
  assert.deepEqual(harnessChildren(), []);
});

test('search statement, 3 clients: one process per core at most, lanes dealt over them', async () => {
  const r = await measureConcurrency(set, 'search', 3, 1, options());
  assert.equal(r.statement, 'search');
  assert.ok(r.queries > 0, JSON.stringify(r));
  assert.equal(r.errors, 0);
  assert.equal(r.latency.count, r.queries);
  assert.equal(r.harness.processes, Math.min(3, availableParallelism()));
});

test('aborting stops the children and closes their connections', async () => {
  await stopIdleChildren();
  const controller = new AbortController();
  const clients = 5;
  let seenOpen = -1;
  const run = measureConcurrency(set, 'raw', clients, 600, options({
    processes: 2,
    signal: controller.signal,
    onProgress: (done) => {
      if (done === 0 || seenOpen >= 0) return;
      seenOpen = 0;
      void lanesOpen('raw', clients).then((n) => {
        seenOpen = n;
        controller.abort(new Error('benchmark cancelled'));
      });
    },
  }));
  await assert.rejects(run, /benchmark cancelled/);
  assert.equal(seenOpen, clients, 'every lane had its own connection while running');
  assert.deepEqual(harnessChildren(), []);
  // The server notices the closed sockets once their current statement ends.
  await waitFor(async () => (await lanesOpen('raw', clients)) === 0, 30_000, 'the lanes’ connections to close');
});
