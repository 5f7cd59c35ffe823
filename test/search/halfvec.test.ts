/**
 * The halfvec index option against real PostgreSQL + pgvector, on a small capacity set (2,000 rows,
 * 20 clusters) in the capacity database: both indexes built side by side, the planner using the one
 * each statement is written for, recall against an exact answer computed here in float64, and
 * re-ranked similarities that are the full-precision ones.
 *
 * At 2,000 rows a sequential scan is cheaper than either index, and would make every recall exact;
 * the measuring connection turns it off (enable_seqscan = off), so each statement runs on an HNSW
 * index, and only on one whose expression it matches.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { buildHnswIndex, dropHnswIndex, dropHnswIndexes, planUsesHnsw, type IndexBuildReport } from '../../src/capacity/index-build.js';
import { generateBatch, type BatchSpec, type SyntheticTrace } from '../../src/capacity/generator.js';
import { ensureCapacityContributor, writeCapacityBatch } from '../../src/capacity/population.js';
import { gaussian, mulberry32, normalizeInPlace, randomUnitVector, seedFrom } from '../../src/capacity/random.js';
import { explainSearch, timedRaw } from '../../src/benchmark/sql-bench.js';
import { ensureCapacitySchema } from '../../src/db/capacity-database.js';
import { DEFAULT_INDEX_TYPE, hnswIndexName, servingSessionOptions, type IndexType } from '../../src/db/hnsw.js';
import { encodeVector } from '../../src/db/vector-binary.js';
import { searchIndexType, validIndexTypes } from '../../src/search/index-type.js';
import { searchByEncodedVector } from '../../src/search/search.js';
import { capacityTestPool, closeTestPool } from '../helpers/db.js';
import { removeAllCapacityData } from '../helpers/capacity.js';
import { baseConfig, uniqueName } from '../helpers/config.js';

const N = 2_000;
const CLUSTERS = 20;
const DIMS = 1536;
const QUERIES = 60;
const K = 10;
const EF_SEARCH = 128;
const MODEL = uniqueName('halfvec-model');
const spec: BatchSpec = { runKey: uniqueName('halfvec'), batchIndex: 0, batchSize: N, total: N, dimensions: DIMS, clusters: CLUSTERS, sigma: 0.05, generatorSeed: 42 };

let rows: SyntheticTrace[];
let queries: Float32Array[];
const builds = new Map<IndexType, IndexBuildReport>();
let client: pg.Client;

/** Cosine similarity in float64. */
function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

/** The exact answers over every row, computed here from the generated rows (not by the code under test). */
function exact(q: Float32Array): { nearest: string[]; reranked: string[] } {
  const scored = rows.map((r) => {
    const similarity = cosine(q, r.embedding);
    return { id: r.id, similarity, score: 0.9 * similarity + 0.1 * Math.min(1, Math.max(0, r.trustScore)) };
  });
  const top = (key: 'similarity' | 'score') => [...scored].sort((a, b) => b[key] - a[key]).slice(0, K).map((s) => s.id);
  return { nearest: top('similarity'), reranked: top('score') };
}

const overlap = (got: readonly string[], want: readonly string[]) => got.filter((id) => want.includes(id)).length / want.length;

before(async () => {
  await ensureCapacitySchema(baseConfig);
  const pool = capacityTestPool();
  await removeAllCapacityData();
  // The exact answers are computed from the generated rows alone: the seed traces the capacity
  // database starts with go too (from this file's own copy of it).
  await pool.query('DELETE FROM traces WHERE is_seed');
  await dropHnswIndexes(pool);
  const centres = Array.from({ length: CLUSTERS }, (_, i) => randomUnitVector(DIMS, gaussian(mulberry32(seedFrom('halfvec-test-centre', i)))));
  await writeCapacityBatch(pool, spec, centres, { modelId: MODEL, contributorId: await ensureCapacityContributor(pool) });
  rows = generateBatch(spec, centres);
  const noise = gaussian(mulberry32(seedFrom('halfvec-test-queries')));
  queries = Array.from({ length: QUERIES }, (_, q) => normalizeInPlace(centres[q % CLUSTERS]!.map((x) => x + 0.05 * noise())));
  for (const indexType of ['vector', 'halfvec'] as const) {
    builds.set(indexType, await buildHnswIndex(pool, { indexType, maintenanceWorkMemCapBytes: 256 * 1024 * 1024, parallelWorkers: 0, prewarm: false, rebuild: false }));
  }
  // A connection like the API's and the benchmark's (search settings, generic plans), without sequential scans.
  client = new pg.Client({ connectionString: baseConfig.capacityDatabaseUrl, options: `${servingSessionOptions(EF_SEARCH)} -c enable_seqscan=off` });
  await client.connect();
});

after(async () => {
  await client?.end();
  await dropHnswIndex(capacityTestPool(), 'halfvec');
  await removeAllCapacityData();
  await closeTestPool();
});

test('the capacity set is exactly the generated rows', async () => {
  const { rows: counted } = await capacityTestPool().query<{ n: number }>('SELECT count(*)::int AS n FROM traces WHERE embedding IS NOT NULL');
  assert.equal(counted[0]!.n, N, 'no other searchable rows: the exact answers cover the whole table');
});

test('both indexes exist at once; the halfvec one is about half the size', () => {
  const vector = builds.get('vector')!;
  const halfvec = builds.get('halfvec')!;
  assert.deepEqual([vector.indexType, vector.indexName, vector.built], ['vector', 'ix_traces_embedding_hnsw', true]);
  assert.deepEqual([halfvec.indexType, halfvec.indexName, halfvec.built], ['halfvec', 'ix_traces_embedding_hnsw_halfvec', true]);
  assert.equal(halfvec.estimatedGraphBytes, Math.ceil(N * (8 + 2 * DIMS) * 1.3));
  assert.ok(halfvec.indexBytes < 0.7 * vector.indexBytes, `halfvec ${halfvec.indexBytes} bytes, vector ${vector.indexBytes} bytes`);
});

test('the first build VACUUMs the freshly loaded table; the second, with an HNSW index on it, does not', async () => {
  assert.equal(typeof builds.get('vector')!.vacuumSeconds, 'number');
  assert.equal(builds.get('halfvec')!.vacuumSeconds, null);
  const { rows: stats } = await capacityTestPool().query<{ vacuums: number; allVisible: number }>(
    `SELECT s.vacuum_count::int AS vacuums, c.relallvisible AS "allVisible"
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relid = 'traces'::regclass`,
  );
  assert.equal(stats[0]!.vacuums, 1, 'one manual VACUUM, by the first build');
  assert.ok(stats[0]!.allVisible > 0, 'the VACUUM set visibility-map bits');
});

describe('the planner uses the index each statement is written for', () => {
  for (const [type, other] of [['halfvec', 'vector'], ['vector', 'halfvec']] as const) {
    test(`the ${type} search statement reads ${hnswIndexName(type)}, never ${hnswIndexName(other)}`, async () => {
      const { plan, usesIndex } = await explainSearch(client, encodeVector(queries[0]!), MODEL, EF_SEARCH, K, type);
      assert.ok(usesIndex, plan);
      assert.ok(!plan.includes(`(${hnswIndexName(other)})`), plan);
    });

    test(`the index build's planner check for ${type} finds ${hnswIndexName(type)}`, async () => {
      const session = await capacityTestPool().connect();
      try {
        await session.query('SET enable_seqscan = off');
        assert.equal(await planUsesHnsw(session, type), true);
      } finally {
        session.release(true);
      }
    });
  }

  test('the live path sees both and searches with the default until one is gone', async () => {
    assert.deepEqual(await validIndexTypes(capacityTestPool()), ['halfvec', 'vector']);
    assert.equal(await searchIndexType(capacityTestPool()), DEFAULT_INDEX_TYPE);
  });
});

describe('the halfvec path against the exact answers', () => {
  test('recall@10 of the halfvec index and of the re-ranked search path are at least 0.9', async () => {
    let indexRecall = 0;
    let rerankRecall = 0;
    for (const q of queries) {
      const truth = exact(q);
      indexRecall += overlap((await timedRaw(client, encodeVector(q), K, 'halfvec')).ids, truth.nearest);
      const result = await searchByEncodedVector(client, encodeVector(q), { modelId: MODEL, k: K, efSearch: EF_SEARCH, indexType: 'halfvec' });
      rerankRecall += overlap(result.hits.map((h) => h.id), truth.reranked);
    }
    assert.ok(indexRecall / QUERIES >= 0.9, `halfvec index recall@10 ${indexRecall / QUERIES}`);
    assert.ok(rerankRecall / QUERIES >= 0.9, `re-rank recall ${rerankRecall / QUERIES}`);
  });

  test('the re-ranked similarities are the full-precision ones, not the half-precision ones', async () => {
    const byId = new Map(rows.map((r) => [r.id, r]));
    let differsFromHalf = 0;
    for (const q of queries.slice(0, 10)) {
      const param = encodeVector(q);
      const { hits } = await searchByEncodedVector(client, param, { modelId: MODEL, k: K, efSearch: EF_SEARCH, indexType: 'halfvec' });
      assert.equal(hits.length, K);
      const { rows: db } = await client.query<{ id: string; full: number; half: number }>(
        `SELECT id, 1 - (embedding <=> $1::vector) AS full, 1 - (embedding::halfvec(1536) <=> $1::vector::halfvec(1536)) AS half
           FROM traces WHERE id = ANY($2::uuid[])`,
        [param, hits.map((h) => h.id)],
      );
      const fromDb = new Map(db.map((r) => [r.id, r]));
      for (const h of hits) {
        assert.equal(h.similarity, fromDb.get(h.id)!.full, 'the statement\'s similarity is pgvector\'s full-precision one');
        assert.ok(Math.abs(h.similarity - cosine(q, byId.get(h.id)!.embedding)) < 1e-5, 'and agrees with float64 cosine');
        if (h.similarity !== fromDb.get(h.id)!.half) differsFromHalf++;
      }
      const scores = hits.map((h) => h.score);
      assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'ordered by the re-ranked score');
    }
    assert.ok(differsFromHalf > 0, 'the half-precision similarities differ, so the check above can tell them apart');
  });
});
