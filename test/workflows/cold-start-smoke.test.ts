import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FirstQuerySmokeResult } from '../../src/workflows/first-query-smoke.js';
import type { SearchHit } from '../../src/search/search.js';
import { LOCAL_MODEL_ID } from '../../src/embeddings/local.js';
import { executeWorkflow, startWorker, testConfig } from '../helpers/env.js';
import { firstQuerySmoke } from '../../src/workflows/first-query-smoke.js';
import { embeddingReadiness } from '../../src/workflows/embedding-readiness.js';
import { seedImport } from '../../src/workflows/seed-import.js';
import { closeTestPool, testPool } from '../helpers/db.js';
import { runCliInProcess as runCli } from '../helpers/cli-in-process.js';
import { deleteSeeds, SEED_COUNT, tempFixture } from '../helpers/seeds.js';

const config = testConfig();
const cliEnv = { TEMPORAL_TASK_QUEUE: config.temporal.taskQueue, DATABASE_URL: config.databaseUrl, EMBEDDING_PROVIDER: 'local' };
let worker: Awaited<ReturnType<typeof startWorker>>;

before(async () => {
  await deleteSeeds();
  worker = await startWorker(config);
  const imported = await executeWorkflow(config, seedImport, {});
  assert.equal(imported.inserted, SEED_COUNT);
  const ready = await executeWorkflow(config, embeddingReadiness, {});
  assert.deepEqual([ready.embedded, ready.pending, ready.modelId], [SEED_COUNT, 0, LOCAL_MODEL_ID]);
});
after(async () => {
  await worker.stop();
  await deleteSeeds();
  await closeTestPool();
});

test('firstQuerySmoke over the shipped fixtures reaches hit@5 >= 0.9 with the local embedder', async () => {
  const result = await executeWorkflow(config, firstQuerySmoke, {});
  assert.equal(result.modelId, LOCAL_MODEL_ID);
  assert.ok(result.queries >= 40);
  assert.ok(result.hitAt5 >= 0.9, `hit@5 ${result.hitAt5}; misses: ${JSON.stringify(result.failures, null, 1)}`);
  assert.equal(result.passed, true);
  assert.equal(result.minHitAt5, 0.9);
  assert.ok(result.hitAt1 <= result.hitAt5 && result.mrr >= result.hitAt1 && result.mrr <= result.hitAt5 + (1 - result.hitAt5) / 6);
  assert.equal(result.failures.length, Math.round(result.queries * (1 - result.hitAt5)), 'every miss is listed');
});

test('a golden set the seeds cannot answer is a no-go that lists each miss', async () => {
  const golden = await tempFixture([
    { query: 'docker compose healthcheck for postgres', expect_seed_keys: ['docker-compose-healthchecks-postgres-pg-isready'] },
    { query: 'docker compose healthcheck for postgres', expect_seed_keys: ['no-such-seed'] },
    { query: 'docker compose healthcheck for postgres', expect_cluster: 'react-hooks' },
  ]);
  try {
    const result = await executeWorkflow(config, firstQuerySmoke, { goldenPath: golden.path });
    assert.equal(result.passed, false);
    assert.equal(result.queries, 3);
    assert.ok(Math.abs(result.hitAt5 - 1 / 3) < 1e-9);
    assert.deepEqual(result.failures.map((f) => [f.expected, f.rank, f.top.length]), [
      [['no-such-seed'], null, 5],
      [['cluster:react-hooks'], null, 5],
    ]);
    assert.equal(result.failures[0]!.top[0], 'docker-compose-healthchecks-postgres-pg-isready', 'the miss shows what came back instead');
  } finally {
    await golden.cleanup();
  }
});

test('CLI: search finds the Docker Compose healthcheck seed in its top 5, and smoke exits 0', async () => {
  const search = await runCli(['search', 'docker compose healthcheck for postgres', '--json'], cliEnv);
  assert.equal(search.code, 0, search.stderr);
  const hits = JSON.parse(search.stdout) as SearchHit[];
  assert.equal(hits.length, 5);
  assert.ok(hits.some((h) => h.seedKey === 'docker-compose-healthchecks-postgres-pg-isready'), JSON.stringify(hits.map((h) => h.seedKey)));
  assert.ok(hits.every((h) => h.tags.length > 0 && h.trustScore === 1));

  const smoke = await runCli(['smoke'], cliEnv);
  assert.equal(smoke.code, 0, smoke.stderr);
  assert.match(smoke.stdout, /first-query smoke: PASS — \d+ queries, hit@1 [\d.]+, hit@5 [\d.]+ \(needs ≥ 0.9\)/);

  // Seeds without vectors answer nothing: the same check now falls below its threshold, and exits 1.
  await testPool().query('UPDATE traces SET embedding = NULL, embedding_model_id = NULL WHERE is_seed');
  const strict = await runCli(['smoke', '--min-hit5', '0.95', '--json'], cliEnv);
  assert.equal(strict.code, 1, 'below the threshold is a failing exit code');
  assert.equal((JSON.parse(strict.stdout) as FirstQuerySmokeResult).passed, false);
});
