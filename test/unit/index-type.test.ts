/** The halfvec index option's pure parts: SQL builders, the size estimate, type detection, parsing, the report table. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import {
  annDistance, DEFAULT_INDEX_TYPE, estimateHnswGraphBytes, HALFVEC_DISTANCE_SLACK, hnswCreateSql, hnswIndexName, indexTypeOfDefinition,
} from '../../src/db/hnsw.js';
import { hnswCreateConcurrentlySql } from '../../src/capacity/index-build.js';
import { chooseIndexType } from '../../src/search/index-type.js';
import { SEARCH_SQL, searchSql } from '../../src/search/search.js';
import { rawFloorSql, RAW_FLOOR_SQL } from '../../src/benchmark/sql-bench.js';
import { choiceListOption } from '../../src/cli/parse.js';
import { indexTypeInput } from '../../src/cli/benchmark.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { indexTypeTable } from '../../src/report/tables.js';
import type { IndexTypeComparison } from '../../src/report/schema.js';
import { gaussian, mulberry32 } from '../../src/capacity/random.js';
import { compareReports } from '../../src/benchmark/compare.js';
import { parseReport } from '../../src/report/schema.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderHtml } from '../../src/report/html.js';
import { sampleReport } from '../helpers/bench.js';

describe('SQL builders', () => {
  test('the index definitions: the halfvec one is an expression index with the same m and ef_construction', () => {
    assert.equal(
      hnswCreateSql('vector'),
      'CREATE INDEX IF NOT EXISTS ix_traces_embedding_hnsw ON traces USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)',
    );
    assert.equal(
      hnswCreateSql('halfvec'),
      'CREATE INDEX IF NOT EXISTS ix_traces_embedding_hnsw_halfvec ON traces USING hnsw ((embedding::halfvec(1536)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)',
    );
    assert.equal(
      hnswCreateConcurrentlySql('halfvec'),
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_traces_embedding_hnsw_halfvec ON traces USING hnsw ((embedding::halfvec(1536)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)',
    );
  });

  test('the ordering distance repeats the index expression; the parameter stays a binary vector', () => {
    assert.equal(annDistance('vector', 't.embedding', '$1'), 't.embedding <=> $1::vector');
    assert.equal(annDistance('halfvec', 't.embedding', '$1'), 't.embedding::halfvec(1536) <=> $1::vector::halfvec(1536)');
    assert.equal(RAW_FLOOR_SQL, 'SELECT id FROM traces ORDER BY embedding <=> $1::vector LIMIT $2');
    assert.equal(rawFloorSql('halfvec'), 'SELECT id FROM traces ORDER BY embedding::halfvec(1536) <=> $1::vector::halfvec(1536) LIMIT $2');
  });

  test('the halfvec search statement orders candidates by the half-precision distance and re-ranks by the full one', () => {
    const sql = searchSql('halfvec');
    assert.equal(searchSql('vector'), SEARCH_SQL);
    assert.ok(!SEARCH_SQL.includes('halfvec'), 'the vector statement is unchanged');
    assert.equal(sql.match(/t\.embedding <=> \$1::vector AS distance, t\.embedding::halfvec\(1536\) <=> \$1::vector::halfvec\(1536\) AS ann_distance/g)?.length, 2, 'both fetches');
    assert.equal(
      sql.match(/t\.embedding <=> \$1::vector AS distance, NULL::float8 AS ann_distance\s+FROM traces t\s+WHERE \(SELECT exact FROM route\)/g)?.length, 1,
      'the exact route reads each vector once: no half-precision distance, which only the certificates of the HNSW fetches use',
    );
    assert.equal(sql.match(/ORDER BY ann_distance\s+LIMIT/g)?.length, 2, 'both fetches in index order');
    assert.equal(sql.match(/\(1 - \(max\(ann_distance\) - 0\.002::float8\)\)/g)?.length, 2, 'both certificates widened by the slack');
    assert.match(sql, /ORDER BY score DESC, c\.distance LIMIT \$5/);
  });
});

describe('HALFVEC_DISTANCE_SLACK', () => {
  /** Cosine distance in float64 of two vectors, each first rounded by `round`. */
  const cosineDistance = (a: Float64Array, b: Float64Array, round: (x: number) => number) => {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < a.length; i++) {
      const x = round(a[i]!);
      const y = round(b[i]!);
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    return 1 - dot / Math.sqrt(na * nb);
  };

  test('bounds how far float16 rounding moves the cosine distance of unit vectors (near and far pairs)', () => {
    const normal = gaussian(mulberry32(11));
    const unit = (v: Float64Array) => {
      const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
      return v.map((x) => x / n);
    };
    let worst = 0;
    for (let pair = 0; pair < 200; pair++) {
      const a = unit(Float64Array.from({ length: 1536 }, () => normal()));
      // Half the pairs close together (a noisy copy, like a query and its cluster), half unrelated.
      const b = unit(pair % 2 === 0 ? a.map((x) => x + 0.05 * normal()) : Float64Array.from({ length: 1536 }, () => normal()));
      worst = Math.max(worst, Math.abs(cosineDistance(a, b, Math.f16round) - cosineDistance(a, b, (x) => x)));
    }
    // The rounding part of the slack's derivation is 2 · 2^-11; float32 arithmetic takes the rest.
    assert.ok(worst < 2 * 2 ** -11, `worst ${worst}`);
    assert.ok(2 * 2 ** -11 < HALFVEC_DISTANCE_SLACK);
  });
});

test('the preflight estimate: 2 bytes per dimension for halfvec instead of 4', () => {
  // pgvector's guidance: n × (8 + bytes · dims) × 1.3.
  assert.equal(estimateHnswGraphBytes(100_000, 1536, 'vector'), 799_760_000);
  assert.equal(estimateHnswGraphBytes(100_000, 1536, 'halfvec'), 400_400_000);
  assert.equal(estimateHnswGraphBytes(100_000, 1536), 799_760_000, 'vector when not told');
});

describe('which index the search statement is written for', () => {
  const cases: [string, string, ReturnType<typeof indexTypeOfDefinition>][] = [
    ['vector', "CREATE INDEX ix_traces_embedding_hnsw ON public.traces USING hnsw (embedding vector_cosine_ops) WITH (m='16', ef_construction='64')", 'vector'],
    [
      'halfvec expression',
      "CREATE INDEX ix_traces_embedding_hnsw_halfvec ON public.traces USING hnsw (((embedding)::halfvec(1536)) halfvec_cosine_ops) WITH (m='16', ef_construction='64')",
      'halfvec',
    ],
    ['btree', 'CREATE INDEX ix_traces_embedding_pending ON public.traces USING btree (created_at) WHERE (embedding IS NULL)', null],
    ['hnsw with another metric', 'CREATE INDEX other ON public.traces USING hnsw (embedding vector_l2_ops)', null],
  ];
  for (const [name, indexdef, expected] of cases) test(`from its definition: ${name}`, () => assert.equal(indexTypeOfDefinition(indexdef), expected));

  test('the only valid index decides; both or none: the default', () => {
    assert.equal(chooseIndexType(['halfvec']), 'halfvec');
    assert.equal(chooseIndexType(['vector']), 'vector');
    assert.equal(chooseIndexType(['halfvec', 'vector']), DEFAULT_INDEX_TYPE);
    assert.equal(chooseIndexType([]), DEFAULT_INDEX_TYPE);
  });

  test('SEARCH_INDEX_TYPE: auto (unset) reads the database; a type names it; anything else is refused', () => {
    assert.equal(loadConfig({}).search.indexType, null);
    assert.equal(loadConfig({ SEARCH_INDEX_TYPE: 'auto' }).search.indexType, null);
    assert.equal(loadConfig({ SEARCH_INDEX_TYPE: ' HalfVec ' }).search.indexType, 'halfvec');
    assert.throws(() => loadConfig({ SEARCH_INDEX_TYPE: 'float16' }), (err: unknown) => err instanceof ConfigError && /SEARCH_INDEX_TYPE: expected auto, vector or halfvec/.test(err.message));
  });

  test('index names', () => {
    assert.deepEqual([hnswIndexName('vector'), hnswIndexName('halfvec')], ['ix_traces_embedding_hnsw', 'ix_traces_embedding_hnsw_halfvec']);
  });
});

describe('--index-type', () => {
  const parse = choiceListOption('--index-type', ['vector', 'halfvec'] as const);

  test('a comma-separated list of distinct types', () => {
    assert.deepEqual(parse('halfvec'), ['halfvec']);
    assert.deepEqual(parse('vector, halfvec'), ['vector', 'halfvec']);
    assert.throws(() => parse('vector,vector'), InvalidArgumentError);
    assert.throws(() => parse('float'), /--index-type takes one of vector, halfvec, got "float"/);
  });

  const cases: [string, Parameters<typeof indexTypeInput>[0], ReturnType<typeof indexTypeInput>][] = [
    ['nothing: the workflow default', {}, {}],
    ['one type: measured, no comparison', { indexType: ['halfvec'] }, { indexType: 'halfvec' }],
    ['two types: the first measured, both compared', { indexType: ['halfvec', 'vector'] }, { indexType: 'halfvec', compareIndexTypes: ['halfvec', 'vector'] }],
    [
      '--compare-index-types alone: the default first',
      { compareIndexTypes: true },
      { indexType: DEFAULT_INDEX_TYPE, compareIndexTypes: [DEFAULT_INDEX_TYPE, DEFAULT_INDEX_TYPE === 'vector' ? 'halfvec' : 'vector'] },
    ],
    ['--compare-index-types with a type: that one first', { indexType: ['halfvec'], compareIndexTypes: true }, { indexType: 'halfvec', compareIndexTypes: ['halfvec', 'vector'] }],
  ];
  for (const [name, options, expected] of cases) test(`bench search: ${name}`, () => assert.deepEqual(indexTypeInput(options), expected));
});

test('the report\'s "Index type" table: size against the measured type, the figures, the plan check', async () => {
  const latency = (p50: number, p99: number) => ({ count: 1000, mean: p50, min: 0.5, p50, p95: p99, p99, p999: p99, max: p99 });
  const recall = (mean: number) => ({ queries: 1000, mean, p5: mean, min: 0.5, zeroShare: 0 });
  const row = (indexType: 'vector' | 'halfvec', bytes: number, usesIndex: boolean) => ({
    indexType, indexName: hnswIndexName(indexType), bytes, buildSeconds: 12.345, plan: 'Limit > Index Scan on traces', usesIndex,
    latency: latency(1.5, 4.25), rawLatency: latency(1, 3), recall: recall(0.9876), rerankRecall: recall(0.995), widenedShare: 0.125, uncertifiedShare: 0,
  });
  const comparison: IndexTypeComparison = { efSearch: 128, k: 10, rows: [row('vector', 800 * 1024 * 1024, true), row('halfvec', 400 * 1024 * 1024, false)] };
  const table = indexTypeTable(comparison, 1000);
  assert.equal(table.title, 'Index type');
  assert.deepEqual(table.header, ['type', 'index', 'size', 'size vs vector', 'build s', 'p50', 'p99', 'recall@10', 're-rank recall', 'widened', 'uncertified', 'planner uses it']);
  assert.deepEqual(table.rows, [
    ['vector', 'ix_traces_embedding_hnsw', '800 MiB', '', '12.3', '1.50', '4.25', '0.988', '0.995', '12.5%', '0.0%', 'yes'],
    ['halfvec', 'ix_traces_embedding_hnsw_halfvec', '400 MiB', '−50%', '12.3', '1.50', '4.25', '0.988', '0.995', '12.5%', '0.0%', 'NO (Limit > Index Scan on traces)'],
  ]);

  // The section validates and reaches the Markdown and HTML reports; a report without it still parses.
  const report = parseReport({ ...sampleReport('compare-run'), indexTypes: comparison }, 'test');
  assert.match(renderMarkdown(report), /## Index type\n/);
  assert.match(await renderHtml(report), /<h2>Index type<\/h2>/);
  assert.equal(parseReport(sampleReport('old-run'), 'test').indexTypes, undefined);
});

test('bench report --compare names a change of index type (reports from before halfvec count as vector)', () => {
  const a = sampleReport('night-1');
  const b = sampleReport('night-2', { index: { ...a.index, indexType: 'halfvec' } });
  assert.ok(compareReports(a, b).caveats.includes('index type differs: "vector" → "halfvec"'), JSON.stringify(compareReports(a, b).caveats));
  assert.deepEqual(compareReports(a, sampleReport('night-3', { index: { ...a.index, indexType: 'vector' } })).caveats, []);
});
