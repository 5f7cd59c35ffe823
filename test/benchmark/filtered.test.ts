/**
 * Filtered search on a small capacity set (5,000 rows) in a database of its own: the tags the
 * population writes, their backfill, the exact filtered ground truth against PostgreSQL, the filtered
 * pass's recall, and cleanup taking the tags with the rows.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { computeGroundTruth, searchableCount } from '../../src/benchmark/ground-truth.js';
import { groundTruthKey, loadQuerySet, type QuerySet } from '../../src/benchmark/query-set.js';
import { measureFiltered } from '../../src/benchmark/sql-bench.js';
import { recallAtK } from '../../src/benchmark/stats.js';
import { describeCentreSource, loadCentres } from '../../src/capacity/centres.js';
import { batchTagAssignments } from '../../src/capacity/generator.js';
import { deleteCapacityStep, finishCapacityCleanup } from '../../src/capacity/cleanup.js';
import { ensureCapacityContributor, writeCapacityBatch } from '../../src/capacity/population.js';
import { backfillCapacityTags } from '../../src/capacity/tags.js';
import { endPool } from '../../src/db/client.js';
import { HNSW_CREATE_SQL, HNSW_INDEX_NAME, searchSessionOptions } from '../../src/db/hnsw.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { LOCAL_MODEL_ID } from '../../src/embeddings/local.js';
import { rerankScore, searchByEncodedVector } from '../../src/search/search.js';
import { adminUrl, baseConfig, dropDatabase, uniqueName } from '../helpers/config.js';
import { assertRanking, type Scored } from '../helpers/ranking.js';

const databaseUrl = adminUrl(baseConfig.databaseUrl, uniqueName('ct_filtered').replace(/-/g, '_'));
const dataset = { runKey: 'filtered-test', dimensions: 1536, clusters: 50, sigma: 0.05, generatorSeed: 42 };
const BATCHES = 5;
const BATCH_SIZE = 1_000;
const ROWS = BATCHES * BATCH_SIZE;
let pool: pg.Pool;
let set: QuerySet;
let centres: Float32Array[];
let target: { modelId: string; contributorId: string };

const writeBatch = (batchIndex: number) => writeCapacityBatch(pool, { ...dataset, batchIndex, batchSize: BATCH_SIZE, total: ROWS }, centres, target);

/** trace_tags of capacity tags, as "traceId:tag", sorted. */
async function tagRows(): Promise<string[]> {
  const { rows } = await pool.query<{ pair: string }>(
    `SELECT tt.trace_id || ':' || tg.name AS pair FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id WHERE tg.name LIKE 'capacity-%' ORDER BY 1`,
  );
  return rows.map((r) => r.pair);
}

before(async () => {
  await migrateDatabase(databaseUrl);
  pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const centreSpec = { clusters: dataset.clusters, dimensions: dataset.dimensions, generatorSeed: dataset.generatorSeed };
  centres = loadCentres(centreSpec, describeCentreSource(centreSpec));
  target = { modelId: LOCAL_MODEL_ID, contributorId: await ensureCapacityContributor(pool) };
  // Loaded without the migration's HNSW index, as a population does (dropIndex): inserting into the graph row by row is slow.
  await pool.query(`DROP INDEX IF EXISTS ${HNSW_INDEX_NAME}`);
  for (let b = 0; b < BATCHES; b++) await writeBatch(b);
  set = await loadQuerySet(pool, { dataset, queryCount: 24, querySeed: 7, modelId: LOCAL_MODEL_ID });
});

after(async () => {
  if (pool) await endPool(pool);
  await dropDatabase(databaseUrl);
});

test('population writes each row\'s tags with it: ~10% and ~1% of the rows, capacity rows only, the same after a rewrite and a backfill', async () => {
  const { rows } = await pool.query<{ name: string; n: number; capacity: number }>(
    `SELECT tg.name, count(*)::int AS n, count(*) FILTER (WHERE t.contributor_id = $1)::int AS capacity
       FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id JOIN traces t ON t.id = tt.trace_id GROUP BY tg.name ORDER BY tg.name`,
    [target.contributorId],
  );
  const counts = Object.fromEntries(rows.map((r) => [r.name, r.n]));
  // n = 5,000: sd = sqrt(n·p·(1-p)) ≈ 21.2 at p = 0.1 and 7.0 at p = 0.01; within 4 sd: 500 ± 85, 50 ± 28.
  assert.ok(Math.abs(counts['capacity-10pct']! - 500) <= 85, `capacity-10pct on ${counts['capacity-10pct']} rows`);
  assert.ok(Math.abs(counts['capacity-1pct']! - 50) <= 28, `capacity-1pct on ${counts['capacity-1pct']} rows`);
  assert.ok(rows.every((r) => r.capacity === r.n), 'only capacity rows are tagged');
  const written = await tagRows();

  // The data of a run from before tags: every trace_tags row gone; the backfill writes exactly them again, once.
  await pool.query('DELETE FROM trace_tags');
  const backfill = await backfillCapacityTags(pool, dataset.runKey, dataset.generatorSeed);
  assert.deepEqual(backfill, { batches: BATCHES, expected: written.length, inserted: written.length });
  assert.deepEqual(await tagRows(), written);
  assert.deepEqual(await backfillCapacityTags(pool, dataset.runKey, dataset.generatorSeed), { batches: BATCHES, expected: written.length, inserted: 0 });

  // A batch whose rows went missing (three tagged rows of the last batch) is written again, tags included, identical.
  const lost = batchTagAssignments({ ...dataset, batchIndex: BATCHES - 1, start: ROWS - BATCH_SIZE, end: ROWS }).slice(0, 3).map((a) => a.id);
  await pool.query('DELETE FROM traces WHERE id = ANY($1::uuid[])', [lost]);
  assert.ok((await tagRows()).length < written.length, 'the deleted rows took their tags along');
  for (let b = 0; b < BATCHES; b++) await writeBatch(b);
  assert.deepEqual(await tagRows(), written);
});


/** PostgreSQL's similarity of every searchable row with the tag, ranked here: the brute-force answer. */
async function bruteForce(q: number, tag: string): Promise<{ nearest: Scored[]; reranked: Scored[] }> {
  const { rows } = await pool.query<{ id: string; trust_score: number; similarity: number }>(
    `SELECT t.id, t.trust_score, 1 - (t.embedding <=> $1::vector) AS similarity
       FROM traces t JOIN trace_tags tt ON tt.trace_id = t.id JOIN tags tg ON tg.id = tt.tag_id
      WHERE tg.name = $3 AND t.embedding IS NOT NULL AND t.embedding_model_id = $2 AND NOT t.is_flagged AND t.status <> 'rejected'`,
    [set.literals[q], LOCAL_MODEL_ID, tag],
  );
  const ranked = (score: (r: (typeof rows)[number]) => number) => rows.map((r) => ({ id: r.id, score: score(r) })).sort((a, b) => b.score - a.score).slice(0, 10);
  return { nearest: ranked((r) => r.similarity), reranked: ranked((r) => rerankScore(r.similarity, r.trust_score)) };
}

test('the filtered ground truth equals a brute-force SQL ranking over the tag\'s rows, and the filtered pass\'s recall is the search path\'s', async () => {
  const tag = 'capacity-1pct';
  const tagged = await searchableCount(pool, LOCAL_MODEL_ID, tag);
  const cacheKey = `${groundTruthKey(set.spec, set.centres, await searchableCount(pool, LOCAL_MODEL_ID))}:tag=${tag}:n${tagged}`;
  const truth = await computeGroundTruth(pool, set, { databaseUrl, cacheKey, traceCount: tagged, lanes: 2, tag });
  assert.match(truth.planNode, /Seq Scan on traces/);
  for (let q = 0; q < set.vectors.length; q++) {
    const expected = await bruteForce(q, tag);
    assertRanking(truth.neighbours[q]!, expected.nearest, `query ${q} nearest`);
    assertRanking(truth.reranked[q]!, expected.reranked, `query ${q} re-ranked`);
  }

  await pool.query(HNSW_CREATE_SQL);
  await pool.query('ANALYZE traces');
  const pass = await measureFiltered(set, truth.reranked, tag, { databaseUrl, efSearch: 128, k: 10 });
  assert.equal(pass.latency.count, set.vectors.length);
  // The same searches on a connection of the search path's own, scored here against the brute-force answer.
  const search = new pg.Client({ connectionString: databaseUrl, options: searchSessionOptions(128) });
  await search.connect();
  const recalls: number[] = [];
  let short = 0;
  try {
    for (let q = 0; q < set.vectors.length; q++) {
      const { hits } = await searchByEncodedVector(search, set.params[q]!, { modelId: LOCAL_MODEL_ID, k: 10, efSearch: 128, tags: [tag] });
      recalls.push(recallAtK(hits.map((h) => h.id), (await bruteForce(q, tag)).reranked.map((s) => s.id)));
      if (hits.length < 10) short++;
    }
  } finally {
    await search.end();
  }
  const mean = recalls.reduce((a, b) => a + b, 0) / recalls.length;
  assert.ok(Math.abs(pass.recall.mean - mean) < 1e-4, `measured ${pass.recall.mean}, independently ${mean}`);
  assert.equal(pass.shortShare, short / set.vectors.length);
  // ~50 tagged rows: far below EXACT_FILTER_MAX_ROWS, so every search read all of them.
  assert.equal(pass.exactShare, 1);
  assert.equal(pass.recall.mean, 1, `the exact route's filtered recall@10 at ${tagged} tagged rows`);
});

test('the exact route serves a tag on at most exactFilterMaxRows rows, the HNSW route one on more; both return the tag\'s rows only', async () => {
  const tag = 'capacity-10pct';
  const { rows: [counted] } = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id WHERE tg.name = $1', [tag]);
  const rowsWithTag = counted!.n;
  const search = new pg.Client({ connectionString: databaseUrl, options: searchSessionOptions(128) });
  await search.connect();
  try {
    const tagged = new Set((await pool.query<{ id: string }>(
      'SELECT tt.trace_id AS id FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id WHERE tg.name = $1', [tag])).rows.map((r) => r.id));
    const run = (exactFilterMaxRows: number) =>
      searchByEncodedVector(search, set.params[0]!, { modelId: LOCAL_MODEL_ID, k: 10, efSearch: 128, tags: [tag], exactFilterMaxRows });
    const atLimit = await run(rowsWithTag);
    const belowLimit = await run(rowsWithTag - 1);
    assert.deepEqual([atLimit.exact, belowLimit.exact], [true, false]);
    assert.equal(atLimit.candidates, rowsWithTag, 'the exact route ranks every tagged row');
    assert.ok(atLimit.certified && !atLimit.widened);
    for (const r of [atLimit, belowLimit]) {
      assert.equal(r.hits.length, 10);
      assert.ok(r.hits.every((h) => tagged.has(h.id) && h.tags.includes(tag)), 'only rows carrying the tag');
    }
    assertRanking(atLimit.hits.map((h) => h.id), (await bruteForce(0, tag)).reranked, 'the exact route\'s ranking');
    const unfiltered = await searchByEncodedVector(search, set.params[0]!, { modelId: LOCAL_MODEL_ID, k: 10, efSearch: 128, exactFilterMaxRows: ROWS });
    assert.equal(unfiltered.exact, false, 'a search without tags always takes the HNSW route');
  } finally {
    await search.end();
  }
});

test('cleanup deletes the capacity rows\' trace_tags with them', async () => {
  assert.ok((await tagRows()).length > 0);
  let deleted = 0;
  for (let step = 0; step < 10; step++) {
    const { rows } = await deleteCapacityStep(pool, 2_000);
    if (rows === 0) break;
    deleted += rows;
  }
  assert.equal(deleted, ROWS);
  await finishCapacityCleanup(pool);
  assert.deepEqual(await tagRows(), []);
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM traces');
  assert.equal(rows[0]!.n, 0);
});
