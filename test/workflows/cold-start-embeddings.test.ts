import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { EmbeddingReadinessInput, EmbeddingReadinessResult } from '../../src/workflows/embedding-readiness.js';
import type { StageProgress } from '../../src/workflows/messages.js';
import { LOCAL_MODEL_ID } from '../../src/embeddings/local.js';
import { OpenAIEmbedder, OPENAI_MODEL_ID } from '../../src/embeddings/openai.js';
import { ensureSeedContributor, importSeedChunk } from '../../src/seeds/import.js';
import { rootCauseMessage } from '../../src/temporal.js';
import type { Config } from '../../src/config.js';
import { startWorker, testConfig, uniqueName, withClient } from '../helpers/env.js';
import { closeTestPool, scalar, testPool } from '../helpers/db.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { deleteSeeds, loadSeeds } from '../helpers/seeds.js';
import { embeddingReadiness } from '../../src/workflows/embedding-readiness.js';

const ROWS = 12;
const localConfig = testConfig();
const openaiConfig = testConfig();
let fake: FakeOpenAI;
const workers: Awaited<ReturnType<typeof startWorker>>[] = [];

before(async () => {
  await deleteSeeds();
  const pool = testPool();
  await importSeedChunk(pool, (await loadSeeds()).slice(0, ROWS), await ensureSeedContributor(pool));
  fake = await startFakeOpenAI();
  workers.push(await startWorker(localConfig));
  // The same workflow code, but every activity embeds through the OpenAI client against the fake.
  const embedder = new OpenAIEmbedder({ apiKey: 'sk-test', baseURL: fake.baseURL, timeoutMs: 10_000 });
  workers.push(await startWorker(openaiConfig, {}, { embedder }));
});
beforeEach(() => fake.reset());
after(async () => {
  for (const w of workers) await w.stop();
  await fake.close();
  await deleteSeeds();
  await closeTestPool();
});

async function readiness(config: Config, input: EmbeddingReadinessInput, workflowId = uniqueName('embedding-readiness')): Promise<EmbeddingReadinessResult> {
  return withClient(config, (client) =>
    client.workflow.execute(embeddingReadiness, { taskQueue: config.temporal.taskQueue, workflowId, args: [input] }),
  );
}

async function readinessFailure(config: Config, input: EmbeddingReadinessInput, workflowId?: string): Promise<WorkflowFailedError> {
  const err = await readiness(config, input, workflowId).then(
    () => assert.fail('expected embeddingReadiness to fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  return err;
}

const embeddedWith = (modelId: string) =>
  scalar<number>('SELECT count(*)::int FROM traces WHERE is_seed AND embedding IS NOT NULL AND embedding_model_id = $1', [modelId]);
const resetVectors = () => testPool().query('UPDATE traces SET embedding = NULL, embedding_model_id = NULL WHERE is_seed');

test('embeddingReadiness embeds every pending seed and finishes with 0 pending; the progress query tracks it', async () => {
  await resetVectors();
  const workflowId = uniqueName('embedding-readiness');
  const { result, progress } = await withClient(localConfig, async (client) => {
    const handle = await client.workflow.start(embeddingReadiness, {
      taskQueue: localConfig.temporal.taskQueue, workflowId, args: [{ batchSize: 5, lanes: 2 }],
    });
    const result = await handle.result();
    return { result, progress: await handle.query<StageProgress>('progress') };
  });
  assert.deepEqual({ ...result, seconds: 0 }, { target: 'seeds', modelId: LOCAL_MODEL_ID, embedded: ROWS, total: ROWS, pending: 0, seconds: 0 });
  assert.equal(await embeddedWith(LOCAL_MODEL_ID), ROWS);
  assert.equal(progress.state, 'succeeded');
  assert.equal(progress.done, ROWS);
  assert.equal(progress.total, ROWS);

  const again = await readiness(localConfig, {});
  assert.equal(again.embedded, 0, 'nothing left to embed');
  assert.equal(again.pending, 0);
});

test('switching to the OpenAI model re-embeds every seed instead of mixing models', async () => {
  const result = await readiness(openaiConfig, { batchSize: 5, lanes: 1 });
  assert.equal(result.modelId, OPENAI_MODEL_ID);
  assert.equal(result.embedded, ROWS);
  assert.equal(result.pending, 0);
  assert.equal(await embeddedWith(OPENAI_MODEL_ID), ROWS);
  assert.deepEqual(fake.requests.map((r) => r.inputs), [5, 5, 2], 'one request per claimed batch');
});

test('a 429 is retried no sooner than its Retry-After', async () => {
  await resetVectors();
  fake.failNext({ status: 429, retryAfterSeconds: 3 });
  const result = await readiness(openaiConfig, { batchSize: 100, lanes: 1 });
  assert.equal(result.pending, 0);
  assert.equal(result.embedded, ROWS);
  const [limited, retried] = fake.requests;
  assert.deepEqual(fake.requests.map((r) => r.status), [429, 200]);
  const gap = retried!.at - limited!.at;
  // The retry policy alone would retry after 1 s; Retry-After asks for 3.
  assert.ok(gap >= 3_000, `retried after ${Math.round(gap)} ms`);
  assert.ok(gap < 8_000, `retried after ${Math.round(gap)} ms`);
});

test('a 500 is retried by the activity retry policy', async () => {
  await resetVectors();
  fake.failNext({ status: 500 }, { status: 500 });
  const result = await readiness(openaiConfig, { batchSize: 100, lanes: 1 });
  assert.deepEqual(fake.requests.map((r) => r.status), [500, 500, 200]);
  assert.equal(result.embedded, ROWS);
  assert.equal(result.pending, 0);
  assert.equal(await embeddedWith(OPENAI_MODEL_ID), ROWS);
});

test('a wrong dimension fails the run at once, non-retryably, leaving the rows pending', async () => {
  await resetVectors();
  fake.failAlways({ wrongDimensions: 768 });
  const err = await readinessFailure(openaiConfig, { batchSize: 100, lanes: 1, deadlineSeconds: 120 });
  assert.equal(fake.requests.length, 1, 'not retried');
  assert.ok(err.cause instanceof ApplicationFailure);
  assert.equal(err.cause.nonRetryable, true);
  assert.equal(err.cause.type, 'EmbeddingFailed');
  assert.match(err.cause.message, new RegExp(`stopped on an error that retrying cannot fix: ${ROWS} of ${ROWS} seed traces still pending`));
  assert.match(err.cause.message, /768-dimension embeddings, but the schema stores vector\(1536\)/);
  assert.equal(await embeddedWith(OPENAI_MODEL_ID), 0);
});

test('a 401 fails the run at once, non-retryably, naming OPENAI_API_KEY', async () => {
  await resetVectors();
  fake.failAlways({ status: 401 });
  const err = await readinessFailure(openaiConfig, { batchSize: 100, lanes: 1, deadlineSeconds: 120 });
  assert.equal(fake.requests.length, 1, 'not retried');
  assert.ok(err.cause instanceof ApplicationFailure);
  assert.equal(err.cause.nonRetryable, true);
  assert.equal(err.cause.type, 'EmbeddingFailed');
  assert.match(rootCauseMessage(err), /OpenAI rejected the API key \(HTTP 401\): check OPENAI_API_KEY/);
});

test('an embedder that keeps failing ends the run at its deadline with the pending count', async () => {
  await resetVectors();
  // Two seeds already embedded: the count must say 10 pending, not 12.
  await testPool().query(
    `UPDATE traces SET embedding = array_fill(0.1, ARRAY[1536])::vector, embedding_model_id = $1
      WHERE id IN (SELECT id FROM traces WHERE is_seed ORDER BY seed_key LIMIT 2)`,
    [OPENAI_MODEL_ID],
  );
  fake.failAlways({ status: 500 });
  const workflowId = uniqueName('embedding-readiness');
  const err = await readinessFailure(openaiConfig, { batchSize: 100, lanes: 2, deadlineSeconds: 6 }, workflowId);
  // It retried, and it was the deadline (schedule-to-close) that ended it, not an attempt limit.
  assert.ok(fake.requests.length >= 3, `retried until the deadline (${fake.requests.length} requests)`);
  assert.ok(err.cause instanceof ApplicationFailure);
  assert.equal(err.cause.type, 'EmbeddingDeadlineExceeded');
  assert.match(err.cause.message, new RegExp(`did not finish within 6 s: ${ROWS - 2} of ${ROWS} seed traces still pending for model ${OPENAI_MODEL_ID}`));
  assert.match(err.cause.message, /last error: OpenAI embeddings HTTP 500/);
  assert.deepEqual(err.cause.details, [{ pending: ROWS - 2, total: ROWS, workflowId }]);
});
