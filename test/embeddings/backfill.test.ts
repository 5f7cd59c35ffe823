import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { countPending, embedNextBatch } from '../../src/embeddings/backfill.js';
import { LocalEmbedder, LOCAL_MODEL_ID } from '../../src/embeddings/local.js';
import { OpenAIEmbedder, OPENAI_MODEL_ID } from '../../src/embeddings/openai.js';
import { ensureSeedContributor, importSeedChunk } from '../../src/seeds/import.js';
import { closeTestPool, scalar, testPool } from '../helpers/db.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { deleteSeeds, loadSeeds } from '../helpers/seeds.js';

const ROWS = 10;
let fake: FakeOpenAI;

before(async () => {
  await deleteSeeds();
  const pool = testPool();
  await importSeedChunk(pool, (await loadSeeds()).slice(0, ROWS), await ensureSeedContributor(pool));
  fake = await startFakeOpenAI();
});
beforeEach(() => fake.reset());
after(async () => {
  await fake.close();
  await deleteSeeds();
  await closeTestPool();
});

test('concurrent batches claim disjoint rows (FOR UPDATE SKIP LOCKED): every row embedded exactly once', async () => {
  const pool = testPool();
  await pool.query('UPDATE traces SET embedding = NULL, embedding_model_id = NULL WHERE is_seed');
  fake.latencyMs = 400; // both batches hold their claims while the other one claims
  const embedder = new OpenAIEmbedder({ apiKey: 'sk-test', baseURL: fake.baseURL });
  const [a, b] = await Promise.all([embedNextBatch(pool, embedder, 'seeds', 6), embedNextBatch(pool, embedder, 'seeds', 6)]);
  assert.equal(a + b, ROWS);
  assert.deepEqual(fake.requests.map((r) => r.inputs).sort(), [a, b].sort(), 'one request per batch');
  assert.equal(fake.requests.reduce((n, r) => n + r.inputs, 0), ROWS, 'no row was sent twice');
  assert.deepEqual(await countPending(pool, OPENAI_MODEL_ID, 'seeds'), { pending: 0, total: ROWS });
  assert.equal(await embedNextBatch(pool, embedder, 'seeds', 6), 0, 'nothing left to claim');
});

test('a vector from another model counts as pending: switching provider re-embeds, never mixes', async () => {
  const pool = testPool();
  // Every seed now carries an OpenAI vector; for the local model all of them are pending.
  assert.deepEqual(await countPending(pool, LOCAL_MODEL_ID, 'seeds'), { pending: ROWS, total: ROWS });
  const local = new LocalEmbedder();
  assert.equal(await embedNextBatch(pool, local, 'seeds', 100), ROWS);
  assert.equal(await scalar<number>(`SELECT count(*)::int FROM traces WHERE is_seed AND embedding_model_id = $1`, [LOCAL_MODEL_ID]), ROWS);
  assert.deepEqual(await countPending(pool, OPENAI_MODEL_ID, 'seeds'), { pending: ROWS, total: ROWS });
});

test('a failing embedder rolls the claim back: the rows stay pending', async () => {
  const pool = testPool();
  fake.failNext({ status: 500 });
  const embedder = new OpenAIEmbedder({ apiKey: 'sk-test', baseURL: fake.baseURL });
  await assert.rejects(embedNextBatch(pool, embedder, 'seeds', 100), /HTTP 500/);
  assert.deepEqual(await countPending(pool, OPENAI_MODEL_ID, 'seeds'), { pending: ROWS, total: ROWS });
  assert.equal(await scalar<number>(`SELECT count(*)::int FROM traces WHERE is_seed AND embedding_model_id = $1`, [LOCAL_MODEL_ID]), ROWS);
});
