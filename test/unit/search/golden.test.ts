import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadGoldenQueries, scoreRanks } from '../../../src/search/golden.js';
import { DEFAULT_GOLDEN_QUERIES, resolveProjectPath } from '../../../src/paths.js';
import { loadSeeds, tempFixture } from '../../helpers/seeds.js';

test('hit@1, hit@5 and MRR are computed from 1-based ranks', () => {
  assert.deepEqual(scoreRanks([1, 2, null, 6]), { hitAt1: 0.25, hitAt5: 0.5, mrr: (1 + 1 / 2 + 0 + 1 / 6) / 4 });
  assert.deepEqual(scoreRanks([]), { hitAt1: 0, hitAt5: 0, mrr: 0 });
});

test('the shipped golden set has at least 40 queries, each pointing at seeds or a cluster that exist', async () => {
  const queries = await loadGoldenQueries(resolveProjectPath(DEFAULT_GOLDEN_QUERIES));
  assert.ok(queries.length >= 40, `${queries.length} queries`);
  const seeds = await loadSeeds();
  const keys = new Set(seeds.map((s) => s.seed_key));
  const clusters = new Set(seeds.map((s) => s.cluster));
  for (const q of queries) {
    for (const key of q.expect_seed_keys) assert.ok(keys.has(key), `"${q.query}" expects unknown seed ${key}`);
    if (q.expect_cluster) assert.ok(clusters.has(q.expect_cluster), `"${q.query}" expects unknown cluster ${q.expect_cluster}`);
  }
  assert.equal(new Set(queries.map((q) => q.query.toLowerCase())).size, queries.length, 'no repeated query');
});

test('a golden query without any expectation is rejected with its position', async () => {
  const file = await tempFixture([{ query: 'how do I do the thing' }]);
  try {
    await assert.rejects(loadGoldenQueries(file.path), /invalid: 0: needs expect_seed_keys or expect_cluster/);
  } finally {
    await file.cleanup();
  }
});
