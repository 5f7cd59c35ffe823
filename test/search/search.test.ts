import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toVectorLiteral } from '../../src/embeddings/embedder.js';
import { LocalEmbedder } from '../../src/embeddings/local.js';
import {
  DEFAULT_EF_SEARCH, searchSessionOptions, firstCandidates, rerankScore, SEARCH_STATEMENT_NAME, searchByEncodedVector, searchByVector, searchTraces, searchTracesTimed,
  TRUST_WEIGHT, wideCandidates,
} from '../../src/search/search.js';
import { encodeVector } from '../../src/db/vector-binary.js';
import { replaceTraceTags } from '../../src/db/trace-tags.js';
import pg from 'pg';
import { withTransaction } from '../../src/db/client.js';
import { closeTestPool, testPool } from '../helpers/db.js';
import { baseConfig, uniqueName } from '../helpers/config.js';

const CONTRIBUTOR = 'search-test@commontrace.internal';
// A made-up word keeps these rows nearest the query whatever else the shared database holds.
const WORD = uniqueName('zorblax').replace('-', '');
const QUERY = `${WORD} consumer rebalance storm after session timeout`;
const embedder = new LocalEmbedder();

interface Row {
  key: string;
  text: string;
  modelId?: string;
  flagged?: boolean;
  status?: 'pending' | 'validated' | 'rejected';
  trust?: number;
  tags: string[];
}

const ROWS: Row[] = [
  { key: 'valid', text: QUERY, status: 'validated', trust: 1, tags: ['kafka', 'streaming'] },
  { key: 'unconfirmed', text: QUERY, status: 'pending', trust: 0, tags: ['kafka'] },
  { key: 'java', text: `${QUERY} in the java client`, status: 'validated', trust: 0.5, tags: ['java', 'kafka'] },
  { key: 'other-model', text: QUERY, modelId: 'other-model-v9', status: 'validated', trust: 1, tags: ['kafka', 'streaming'] },
  { key: 'flagged', text: QUERY, flagged: true, status: 'validated', trust: 1, tags: ['kafka', 'streaming'] },
  { key: 'rejected', text: QUERY, status: 'rejected', trust: 1, tags: ['kafka', 'streaming'] },
];
const ids = new Map<string, string>();

before(async () => {
  const pool = testPool();
  await pool.query('DELETE FROM users WHERE email = $1', [CONTRIBUTOR]);
  const user = await pool.query<{ id: string }>('INSERT INTO users (email) VALUES ($1) RETURNING id', [CONTRIBUTOR]);
  const vectors = await embedder.embed(ROWS.map((r) => r.text));
  await withTransaction(pool, async (client) => {
    for (const [i, row] of ROWS.entries()) {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO traces (title, context_text, solution_text, embedding, embedding_model_id, status, trust_score, is_flagged, contributor_id)
         VALUES ($1, $2, 'solution', $3::vector, $4, $5, $6, $7, $8) RETURNING id`,
        [`${row.key}: ${row.text}`, row.text, toVectorLiteral(vectors[i]!), row.modelId ?? embedder.modelId, row.status ?? 'validated',
          row.trust ?? 0, row.flagged ?? false, user.rows[0]!.id],
      );
      ids.set(row.key, rows[0]!.id);
      await replaceTraceTags(client, rows[0]!.id, row.tags);
    }
  });
});
after(async () => {
  const pool = testPool();
  await pool.query('DELETE FROM users WHERE email = $1', [CONTRIBUTOR]);
  await pool.query(`DELETE FROM tags tg WHERE name IN ('kafka', 'streaming', 'java') AND NOT EXISTS (SELECT 1 FROM trace_tags tt WHERE tt.tag_id = tg.id)`);
  await closeTestPool();
});

const keyOf = (id: string) => [...ids].find(([, v]) => v === id)?.[0];

test('search leaves out other models, flagged rows and rejected rows', async () => {
  const hits = await searchTraces(testPool(), embedder, QUERY, { k: 50 });
  const mine = hits.map((h) => keyOf(h.id)).filter((k) => k !== undefined);
  assert.deepEqual(mine, ['valid', 'unconfirmed', 'java']);
  for (const excluded of ['other-model', 'flagged', 'rejected']) assert.ok(!mine.includes(excluded), `${excluded} must not be returned`);
});

test('hits come back re-ranked by trust, with similarity, trust and sorted tags', async () => {
  const hits = await searchTraces(testPool(), embedder, QUERY, { k: 3 });
  assert.equal(hits.length, 3);
  const [valid, unconfirmed, java] = hits;
  assert.equal(valid!.id, ids.get('valid'));
  assert.ok(Math.abs(valid!.similarity - 1) < 1e-6, `identical text: similarity ${valid!.similarity}`);
  assert.equal(valid!.trustScore, 1);
  assert.deepEqual(valid!.tags, ['kafka', 'streaming']);
  assert.equal(valid!.status, 'validated');
  // "unconfirmed" is exactly as similar as "valid" but has no trust: TRUST_WEIGHT separates them.
  assert.equal(unconfirmed!.id, ids.get('unconfirmed'));
  assert.ok(Math.abs(valid!.similarity - unconfirmed!.similarity) < 1e-6);
  assert.ok(Math.abs(valid!.score - unconfirmed!.score - TRUST_WEIGHT) < 1e-6);
  assert.equal(java!.id, ids.get('java'));
  assert.ok(java!.similarity < unconfirmed!.similarity);
  assert.deepEqual(java!.tags, ['java', 'kafka']);
  for (const h of hits) assert.ok(Math.abs(h.score - rerankScore(h.similarity, h.trustScore)) < 1e-12);
});

test('tags restrict results to traces carrying at least one of them', async () => {
  const streaming = await searchTraces(testPool(), embedder, QUERY, { k: 50, tags: ['streaming'] });
  assert.deepEqual(streaming.map((h) => keyOf(h.id)).filter(Boolean), ['valid']);
  assert.ok(streaming.every((h) => h.tags.includes('streaming')));
  const either = await searchTraces(testPool(), embedder, QUERY, { k: 50, tags: ['java', 'streaming'] });
  assert.deepEqual(either.map((h) => keyOf(h.id)).filter(Boolean), ['valid', 'java']);
});

test('k is honoured and capped; a vector from no stored model finds nothing', async () => {
  const [vector] = await embedder.embed([QUERY]);
  assert.equal((await searchByVector(testPool(), vector!, embedder.modelId, { k: 1 })).length, 1);
  assert.ok((await searchByVector(testPool(), vector!, embedder.modelId, { k: 500 })).length <= 50);
  assert.deepEqual(await searchByVector(testPool(), vector!, 'no-such-model'), []);
});

test('the re-rank formula lets trust outweigh a small similarity gap, never a large one', () => {
  assert.equal(rerankScore(0.8, 1), (1 - TRUST_WEIGHT) * 0.8 + TRUST_WEIGHT);
  assert.ok(rerankScore(0.85, 1) > rerankScore(0.9, 0), 'a validated trace beats a slightly closer unconfirmed one');
  assert.ok(rerankScore(0.5, 1) < rerankScore(0.9, 0), 'trust cannot rescue an off-topic trace');
  assert.equal(rerankScore(0.7, 5), rerankScore(0.7, 1), 'trust is clamped to [0, 1]');
});

test('one search is one statement: a named prepared statement with the vector in binary form', async () => {
  const pool = testPool();
  const calls: unknown[] = [];
  const counting = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'query') return (...args: unknown[]) => (calls.push(args[0]), (target.query as (...a: unknown[]) => unknown)(...args));
      if (prop === 'connect') throw new Error('a search must not check out a client (no BEGIN/COMMIT)');
      return Reflect.get(target, prop, receiver);
    },
  });
  // The first search on a pool also reads which index type it has (once, then cached).
  await searchTracesTimed(counting, embedder, QUERY, { k: 3 });
  calls.length = 0;
  const result = await searchTracesTimed(counting, embedder, QUERY, { k: 3 });
  assert.equal(result.hits.length, 3);
  assert.equal(calls.length, 1, 'exactly one query for the whole search, tags included');
  const sent = calls[0] as { name?: string; values?: unknown[] };
  assert.equal(sent.name, SEARCH_STATEMENT_NAME);
  assert.ok(Buffer.isBuffer(sent.values?.[0]), 'the query vector travels in pgvector binary form');
  assert.deepEqual(result.hits[0]!.tags, ['kafka', 'streaming'], 'tags come back from the same statement');
  for (const stage of ['embedMs', 'dbMs', 'rerankMs'] as const) assert.ok(result.timing[stage] >= 0, stage);
});

test('the session settings come with the connection: no SET per search', async () => {
  const { rows } = await testPool().query<{ ef: string; iterative: string }>(
    "SELECT current_setting('hnsw.ef_search') AS ef, current_setting('hnsw.iterative_scan') AS iterative",
  );
  assert.deepEqual(rows[0], { ef: String(DEFAULT_EF_SEARCH), iterative: 'relaxed_order' });
});

describe('the re-rank bound', () => {
  // Rows of a model of their own, at exactly chosen cosine similarities to the query e0:
  // row = cos θ · e0 + sin θ · e(i+1), so similarity = cos θ whatever else the table holds.
  const MODEL = uniqueName('bound-model');
  const DIMS = 1536;
  const query = Array.from({ length: DIMS }, (_, i) => (i === 0 ? 1 : 0));
  const rowAt = (i: number, similarity: number) =>
    Array.from({ length: DIMS }, (_, d) => (d === 0 ? similarity : d === i + 1 ? Math.sqrt(1 - similarity ** 2) : 0));
  let user: string;

  async function load(rows: { similarity: number; trust: number }[]): Promise<string[]> {
    await testPool().query('DELETE FROM traces WHERE embedding_model_id = $1', [MODEL]);
    const ids: string[] = [];
    for (const [i, r] of rows.entries()) {
      const { rows: inserted } = await testPool().query<{ id: string }>(
        `INSERT INTO traces (title, context_text, solution_text, embedding, embedding_model_id, status, trust_score, contributor_id)
         VALUES ($1, 'c', 's', $2::vector, $3, 'validated', $4, $5) RETURNING id`,
        [`bound-${i}`, toVectorLiteral(rowAt(i, r.similarity)), MODEL, r.trust, user],
      );
      ids.push(inserted[0]!.id);
    }
    return ids;
  }

  /**
   * The statement over a sequential scan: the certificate's logic is under test here, not the graph
   * (rows this artificial, each along its own axis, make a poor HNSW graph in a shared table).
   */
  async function exactSearch(k: number) {
    // A connection of its own: a pooled one may hold a cached generic plan of the statement that a
    // session setting would not change.
    const client = new pg.Client({ connectionString: baseConfig.databaseUrl, options: `${searchSessionOptions()} -c enable_indexscan=off` });
    await client.connect();
    try {
      return await searchByEncodedVector(client, encodeVector(query), { modelId: MODEL, k, efSearch: 64 });
    } finally {
      await client.end();
    }
  }

  /** The exact re-ranked top k over every row, from the row definitions (not from the database). */
  const exactTop = (rows: { similarity: number; trust: number }[], ids: string[], k: number) =>
    rows.map((r, i) => ({ id: ids[i]!, score: 0.9 * r.similarity + 0.1 * r.trust })).sort((a, b) => b.score - a.score).slice(0, k).map((r) => r.id);

  before(async () => {
    const { rows } = await testPool().query<{ id: string }>('SELECT id FROM users WHERE email = $1', [CONTRIBUTOR]);
    user = rows[0]!.id;
  });
  after(async () => {
    await testPool().query('DELETE FROM traces WHERE embedding_model_id = $1', [MODEL]);
  });

  test('k and ef_search size the fetches: first 2k (at least k + 10, at most ef_search), then wider', () => {
    assert.deepEqual([firstCandidates(2, 64), firstCandidates(10, 64), firstCandidates(40, 64), firstCandidates(50, 64)], [12, 20, 64, 64]);
    assert.equal(firstCandidates(70, 64), 71, 'never fewer than k + 1');
    assert.deepEqual([wideCandidates(2), wideCandidates(10), wideCandidates(50)], [100, 100, 400]);
  });

  test('uniform trust: the first fetch certifies the ranking, no widening', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({ similarity: 0.95 - 0.001 * i, trust: 1 }));
    const ids = await load(rows);
    const result = await exactSearch(2);
    assert.deepEqual(result.hits.map((h) => h.id), exactTop(rows, ids, 2));
    assert.equal(result.widened, false);
    assert.equal(result.certified, true);
    assert.equal(result.candidates, 12);
  });

  test('near neighbours without trust hide trusted ones: the statement widens and finds the exact re-ranked top k', async () => {
    // The 12 nearest have trust 0; trusted rows a little further away outscore them after re-ranking.
    const rows = [
      ...Array.from({ length: 12 }, (_, i) => ({ similarity: 0.95 - 0.001 * i, trust: 0 })),
      ...Array.from({ length: 28 }, (_, i) => ({ similarity: 0.9 - 0.001 * i, trust: 1 })),
    ];
    const ids = await load(rows);
    const result = await exactSearch(2);
    assert.deepEqual(result.hits.map((h) => h.id), exactTop(rows, ids, 2));
    assert.deepEqual(result.hits.map((h) => h.trustScore), [1, 1]);
    assert.equal(result.widened, true);
    assert.equal(result.certified, true, 'all 40 rows fit in the widened fetch');
    assert.equal(result.candidates, 40);
  });

  test('when even the widened fetch cannot prove the ranking, the result says so', async () => {
    // 150 untrusted rows within 0.111 of each other: a trusted row beyond any fetch could still win.
    const rows = Array.from({ length: 150 }, (_, i) => ({ similarity: 0.95 - 0.0005 * i, trust: 0 }));
    const ids = await load(rows);
    const result = await exactSearch(2);
    assert.deepEqual(result.hits.map((h) => h.id), exactTop(rows, ids, 2));
    assert.equal(result.widened, true);
    assert.equal(result.certified, false);
    assert.equal(result.candidates, 100);
  });

  test('fewer matching rows than k certify nothing: the scan may have stopped early', async () => {
    const rows = [{ similarity: 0.9, trust: 1 }];
    const ids = await load(rows);
    const result = await exactSearch(2);
    assert.deepEqual(result.hits.map((h) => h.id), ids);
    assert.equal(result.widened, true);
    assert.equal(result.certified, false);
  });
});
