import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cosineSimilarity, traceEmbeddingText } from '../../../src/embeddings/embedder.js';
import { embedLocal, LocalEmbedder, LOCAL_MODEL_ID } from '../../../src/embeddings/local.js';
import { loadSeeds } from '../../helpers/seeds.js';

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

test('the local embedder is deterministic: same text, same vector, across instances and calls', async () => {
  const seeds = (await loadSeeds()).slice(0, 20);
  const texts = seeds.map((s) => traceEmbeddingText({ title: s.title, contextText: s.context, solutionText: s.solution, tags: s.tags }));
  const a = await new LocalEmbedder().embed(texts);
  const b = await new LocalEmbedder().embed([...texts].reverse());
  assert.deepEqual(a, b.reverse(), 'order of the batch and the instance do not change a vector');
  assert.deepEqual(a[0], embedLocal(texts[0]!));
  assert.notDeepEqual(a[0], a[1], 'different texts get different vectors');
});

test('the local embedder returns 1536-dimension unit vectors under its model id', async () => {
  const embedder = new LocalEmbedder();
  assert.equal(embedder.modelId, LOCAL_MODEL_ID);
  assert.equal(LOCAL_MODEL_ID, 'local-hash-1536-v1');
  assert.equal(embedder.dimensions, 1536);
  const texts = [
    'docker compose healthcheck for postgres',
    'x',
    'Why does useEffect run twice? '.repeat(200),
    'pg_isready -U postgres && psql -c "SELECT 1"',
  ];
  for (const [i, v] of (await embedder.embed(texts)).entries()) {
    assert.equal(v.length, 1536);
    assert.ok(v.every(Number.isFinite));
    assert.ok(Math.abs(norm(v) - 1) < 1e-9, `text ${i}: norm ${norm(v)}`);
  }
});

test('shared vocabulary makes vectors closer: a query is nearer its own topic than another', async () => {
  const [query, docker, react] = await new LocalEmbedder().embed([
    'docker compose healthcheck for postgres',
    'Docker Compose healthcheck for Postgres: wait with pg_isready and depends_on condition service_healthy',
    'React useEffect runs twice in development because of StrictMode',
  ]);
  assert.ok(cosineSimilarity(query!, docker!) > cosineSimilarity(query!, react!) + 0.2);
  // Compound tokens are split, so either spelling of a name matches.
  const [hyphen, spaced] = await new LocalEmbedder().embed(['docker-compose', 'docker compose']);
  assert.ok(cosineSimilarity(hyphen!, spaced!) > 0.3, `got ${cosineSimilarity(hyphen!, spaced!)}`);
});

test('the model id pins the vectors: the strongest buckets of a fixed text do not move', () => {
  // If this fails, the hashing changed: stored vectors no longer match new queries. Bump
  // LOCAL_MODEL_ID (so every row is re-embedded) and update the fingerprint.
  const v = embedLocal('docker compose healthcheck for postgres');
  const top = v
    .map((x, i) => ({ i, x }))
    .sort((a, b) => Math.abs(b.x) - Math.abs(a.x) || a.i - b.i)
    .slice(0, 4)
    .map(({ i, x }) => `${x < 0 ? '-' : '+'}${i}`);
  assert.deepEqual(top, FINGERPRINT);
});

// The four query words (unigrams weigh most), tied in magnitude, listed by bucket.
const FINGERPRINT = ['+84', '+201', '-798', '+1466'];
