import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { toVectorLiteral } from '../../src/embeddings/embedder.js';
import { LocalEmbedder } from '../../src/embeddings/local.js';
import { rerankScore, searchByVector, searchTraces, TRUST_WEIGHT } from '../../src/search/search.js';
import { replaceTraceTags } from '../../src/db/trace-tags.js';
import { withTransaction } from '../../src/db/client.js';
import { closeTestPool, testPool } from '../helpers/db.js';
import { uniqueName } from '../helpers/env.js';

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
