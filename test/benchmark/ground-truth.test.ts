import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { computeGroundTruth, GroundTruthError, loadGroundTruth, searchableCount } from '../../src/benchmark/ground-truth.js';
import { groundTruthKey, loadQuerySet, type QuerySet, type QuerySetSpec } from '../../src/benchmark/query-set.js';
import { describeCentreSource, loadCentres } from '../../src/capacity/centres.js';
import { ensureCapacityContributor, writeCapacityBatch } from '../../src/capacity/population.js';
import { endPool } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { encodeVector } from '../../src/db/vector-binary.js';
import { LOCAL_MODEL_ID } from '../../src/embeddings/local.js';
import { rerankScore } from '../../src/search/search.js';
import { adminUrl, baseConfig, dropDatabase, uniqueName } from '../helpers/config.js';
import { assertRanking, type Scored } from '../helpers/ranking.js';

// Its own database: the searchable set must be exactly what this file writes.
const databaseUrl = adminUrl(baseConfig.databaseUrl, uniqueName('ct_ground_truth').replace(/-/g, '_'));
const dataset = { runKey: 'ground-truth-test', dimensions: 1536, clusters: 12, sigma: 0.05, generatorSeed: 42 };
const ROWS = 600;
let pool: pg.Pool;
let set: QuerySet;
let traceCount: number;

before(async () => {
  await migrateDatabase(databaseUrl);
  pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const centreSpec = { clusters: dataset.clusters, dimensions: dataset.dimensions, generatorSeed: dataset.generatorSeed };
  const centres = loadCentres(centreSpec, describeCentreSource(centreSpec));
  const target = { modelId: LOCAL_MODEL_ID, contributorId: await ensureCapacityContributor(pool) };
  for (let batchIndex = 0; batchIndex < 2; batchIndex++) {
    await writeCapacityBatch(pool, { ...dataset, batchIndex, batchSize: ROWS / 2, total: ROWS }, centres, target);
  }
  // Trust spread over and beyond [0, 1] (the re-rank clamps it).
  await pool.query(`UPDATE traces SET trust_score = (abs(hashtext(id::text)) % 1200) / 1000.0 - 0.1`);
  // Rows outside the searchable set, each a copy of a searchable row's vector: counting any of them
  // would put it right next to its original in the results.
  await pool.query(
    `INSERT INTO traces (title, context_text, solution_text, embedding, embedding_model_id, status, trust_score, is_flagged, contributor_id)
     SELECT title, context_text, solution_text, embedding,
            CASE WHEN n % 3 = 0 THEN 'another-model' ELSE embedding_model_id END,
            CASE WHEN n % 3 = 1 THEN 'rejected'::trace_status ELSE 'validated'::trace_status END,
            1, n % 3 = 2, contributor_id
       FROM (SELECT *, row_number() OVER (ORDER BY id) AS n FROM traces LIMIT 90) t`,
  );
  const spec: QuerySetSpec = { dataset, queryCount: 24, querySeed: 7, modelId: LOCAL_MODEL_ID };
  set = await loadQuerySet(pool, spec);
  traceCount = await searchableCount(pool, LOCAL_MODEL_ID);
});

after(async () => {
  if (pool) await endPool(pool);
  await dropDatabase(databaseUrl);
});


/** PostgreSQL's similarity of every searchable row to the query, ranked here: the independent answer. */
async function expectedFromSql(q: number): Promise<{ nearest: Scored[]; reranked: Scored[] }> {
  const { rows } = await pool.query<{ id: string; trust_score: number; similarity: number }>(
    `SELECT id, trust_score, 1 - (embedding <=> $1::vector) AS similarity FROM traces
      WHERE embedding IS NOT NULL AND embedding_model_id = $2 AND NOT is_flagged AND status <> 'rejected'`,
    [set.literals[q], LOCAL_MODEL_ID],
  );
  const ranked = (score: (r: (typeof rows)[number]) => number) =>
    rows.map((r) => ({ id: r.id, score: score(r) })).sort((a, b) => b.score - a.score).slice(0, 10);
  return { nearest: ranked((r) => r.similarity), reranked: ranked((r) => rerankScore(r.similarity, r.trust_score)) };
}

test('in-process ground truth equals PostgreSQL exact ranking (nearest and re-ranked) over the searchable set only, and is cached', async () => {
  assert.equal(traceCount, ROWS);
  const cacheKey = groundTruthKey(set.spec, set.centres, traceCount);
  const progress: number[] = [];
  const truth = await computeGroundTruth(pool, set, { databaseUrl, cacheKey, traceCount, lanes: 2, onProgress: (done) => progress.push(done) });
  assert.equal(truth.neighbours.length, 24);
  assert.match(truth.planNode, /Seq Scan on traces/);
  assert.equal(truth.verification.queries.length, 8);
  assert.equal(progress.at(-1), 24);
  for (let q = 0; q < set.vectors.length; q++) {
    const expected = await expectedFromSql(q);
    assertRanking(truth.neighbours[q]!, expected.nearest, `query ${q} nearest`);
    assertRanking(truth.reranked[q]!, expected.reranked, `query ${q} re-ranked`);
  }
  // The trust spread makes the re-ranked order differ from the similarity order somewhere.
  assert.ok(truth.reranked.some((ids, q) => ids.join() !== truth.neighbours[q]!.join()));

  const cached = await loadGroundTruth(pool, cacheKey);
  assert.deepEqual(cached?.neighbours, truth.neighbours);
  assert.deepEqual(cached?.reranked, truth.reranked);

  // A row cached before re-ranked neighbours existed loads as such, and recomputing fills it in.
  await pool.query('UPDATE benchmark_ground_truth SET reranked_neighbours = NULL WHERE cache_key = $1', [cacheKey]);
  assert.equal((await loadGroundTruth(pool, cacheKey))?.reranked, null);
  await computeGroundTruth(pool, set, { databaseUrl, cacheKey, traceCount, lanes: 1 });
  assert.deepEqual((await loadGroundTruth(pool, cacheKey))?.reranked, truth.reranked);
});

test('a query that is a table row, or a changed table, is refused with GroundTruthError', async () => {
  const { rows } = await pool.query<{ embedding: string }>(`SELECT embedding::text FROM traces WHERE status = 'validated' AND NOT is_flagged LIMIT 1`);
  const row = Float32Array.from(JSON.parse(rows[0]!.embedding) as number[]);
  const vectors = [row, ...set.vectors.slice(1)];
  const leaky: QuerySet = { ...set, vectors, params: vectors.map(encodeVector), literals: vectors.map((v) => `[${Array.from(v).join(',')}]`) };
  const options = { databaseUrl, cacheKey: uniqueName('leaky'), traceCount, lanes: 2 };
  await assert.rejects(computeGroundTruth(pool, leaky, options), (err) => err instanceof GroundTruthError && /coincides with a table row/.test(err.message));
  await assert.rejects(
    computeGroundTruth(pool, set, { ...options, traceCount: traceCount + 1 }),
    (err) => err instanceof GroundTruthError && /searchable set has 600 rows/.test(err.message),
  );
});

test('cancelling stops the computation with the signal reason', async () => {
  const reason = new Error('activity cancelled');
  const controller = new AbortController();
  const pending = computeGroundTruth(pool, set, { databaseUrl, cacheKey: uniqueName('cancelled'), traceCount, lanes: 2, signal: controller.signal });
  setTimeout(() => controller.abort(reason), 20);
  await assert.rejects(pending, (err) => err === reason);
});
