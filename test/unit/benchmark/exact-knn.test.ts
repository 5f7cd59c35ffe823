import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateExactData, normaliseRows, planLayout, rowVector, writeQueries, type ExactData } from '../../../src/benchmark/exact/exact-data.js';
import { scanAllQueries, type QueryNeighbours } from '../../../src/benchmark/exact/scan.js';
import { queryBlocks, scanInWorkers } from '../../../src/benchmark/exact/parallel.js';
import { compareTopK, SWAP_TOLERANCE } from '../../../src/benchmark/exact/compare.js';
import { readBinaryCopy } from '../../../src/benchmark/exact/copy-reader.js';
import type { RankedRows } from '../../../src/benchmark/exact/top-k.js';
import { copyHeader, copyTrailer, encodeRow } from '../../../src/capacity/copy-binary.js';
import { gaussian, mulberry32 } from '../../../src/capacity/random.js';
import { decodeVector, encodeVector, readFloat4sBE } from '../../../src/db/vector-binary.js';
import { rerankScore } from '../../../src/search/search.js';

/** Small random data with deliberate ties: rows 40 and 90 are copies of row 3 (40 with row 3's trust). */
function fixture(rows: number, dims: number, queries: number, seed: number) {
  const normal = gaussian(mulberry32(seed));
  const uniform = mulberry32(seed + 1);
  const vectors = Array.from({ length: rows }, () => Float32Array.from({ length: dims }, () => normal()));
  // Trust outside [0, 1] too, to exercise rerankScore's clamp.
  const trust = Array.from({ length: rows }, () => Math.round((uniform() * 1.4 - 0.2) * 100) / 100);
  vectors[40] = vectors[3]!.slice();
  vectors[90] = vectors[3]!.slice();
  trust[40] = trust[3]!;
  trust[90] = Math.max(0, trust[3]! - 0.3);
  // Query 0 points almost at row 3, so the three equal rows are its top three.
  const queryVectors = Array.from({ length: queries }, (_, q) =>
    q === 0 ? vectors[3]!.map((x) => x + 0.01 * normal()) : Float32Array.from({ length: dims }, () => normal()));
  return { vectors, trust, queryVectors };
}

function load(f: ReturnType<typeof fixture>, lanes = 2): ExactData {
  const data = allocateExactData(planLayout(f.vectors[0]!.length, f.vectors.length, f.queryVectors.length, lanes));
  f.vectors.forEach((v, i) => rowVector(data, i).set(v));
  data.trustScores.set(f.trust);
  normaliseRows(data);
  writeQueries(data, f.queryVectors);
  return data;
}

interface Expected { row: number; score: number }

/** The independent answer: double-precision cosine similarity of every pair, sorted, earlier row first on ties. */
function bruteForce(f: ReturnType<typeof fixture>, k: number): { nearest: Expected[]; reranked: Expected[] }[] {
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return f.queryVectors.map((q) => {
    const similarity = f.vectors.map((v) => v.reduce((s, x, i) => s + x * q[i]!, 0) / (norm(v) * norm(q)));
    const ranked = (score: (row: number) => number) =>
      similarity.map((_, row) => ({ row, score: score(row) })).sort((a, b) => b.score - a.score || a.row - b.row).slice(0, k);
    return { nearest: ranked((r) => similarity[r]!), reranked: ranked((r) => rerankScore(similarity[r]!, f.trust[r]!)) };
  });
}

/** Same rows in the same order, except where the expected scores at a rank are within float rounding (a near tie). */
function assertRanking(got: RankedRows, want: Expected[], what: string): void {
  assert.equal(got.rows.length, want.length, `${what}: length`);
  const wantScore = new Map(want.map((e) => [e.row, e.score]));
  want.forEach((e, rank) => {
    const row = got.rows[rank]!;
    assert.ok(Math.abs(got.scores[rank]! - e.score) < 1e-5, `${what} rank ${rank}: score ${got.scores[rank]} vs ${e.score}`);
    if (row !== e.row) {
      const mine = wantScore.get(row);
      assert.ok(mine !== undefined && Math.abs(mine - e.score) < 1e-6, `${what} rank ${rank}: row ${row}, expected ${e.row} (score ${e.score})`);
    }
  });
}

const plain = (results: QueryNeighbours[]) => results.map((r) => ({
  nearest: [Array.from(r.nearest.rows), Array.from(r.nearest.scores)],
  reranked: [Array.from(r.reranked.rows), Array.from(r.reranked.scores)],
}));

test('blocked SIMD scan matches brute force: top-10 by similarity and by re-rank score, odd sizes, ties earlier row first', () => {
  // 203 rows (not a multiple of the row pair or block), 13 dimensions (not a multiple of 4), 11 queries (not a multiple of 4).
  const f = fixture(203, 13, 11, 1234);
  const results = scanAllQueries(load(f), 10);
  const expected = bruteForce(f, 10);
  results.forEach((r, q) => {
    assertRanking(r.nearest, expected[q]!.nearest, `query ${q} nearest`);
    assertRanking(r.reranked, expected[q]!.reranked, `query ${q} reranked`);
  });
  // The exact tie: three identical rows lead query 0, in row order.
  assert.deepEqual(Array.from(results[0]!.nearest.rows.slice(0, 3)), [3, 40, 90]);
  assert.equal(results[0]!.nearest.scores[0], results[0]!.nearest.scores[2]);
  // Re-ranked, rows 3 and 40 (same similarity, same trust) tie and keep row order; row 90 has less trust.
  const reranked = Array.from(results[0]!.reranked.rows);
  assert.ok(reranked.indexOf(3) < reranked.indexOf(40) && reranked.indexOf(40) < reranked.indexOf(90), `${reranked}`);
});

test('k larger than the table returns every row, fully ordered', () => {
  const f = fixture(97, 8, 5, 99);
  const results = scanAllQueries(load(f), 250);
  const expected = bruteForce(f, 250);
  results.forEach((r, q) => {
    assert.equal(r.nearest.rows.length, 97);
    assertRanking(r.nearest, expected[q]!.nearest, `query ${q} nearest`);
    assertRanking(r.reranked, expected[q]!.reranked, `query ${q} reranked`);
  });
});

test('worker threads return exactly what the in-thread scan returns, with progress up to the total', async () => {
  // 70 queries: several blocks per worker, the last one partial.
  const f = fixture(1_001, 64, 70, 7);
  const data = load(f);
  const progress: number[] = [];
  const parallel = await scanInWorkers(data, { lanes: 2, k: 10, onProgress: (done, total) => { assert.equal(total, 70); progress.push(done); } });
  assert.deepEqual(plain(parallel), plain(scanAllQueries(data, 10)));
  assert.equal(progress.at(-1), 70);
  assert.deepEqual(progress, [...progress].sort((a, b) => a - b));
  assert.ok(queryBlocks(70, 2).length > 2);
});

test('blocks cover every query once, each starting at a multiple of 4', () => {
  for (const [queries, lanes] of [[1, 2], [4, 2], [70, 2], [1_000, 2], [1_000, 3], [5, 8]] as const) {
    const blocks = queryBlocks(queries, lanes);
    assert.equal(blocks[0]!.first, 0);
    blocks.forEach((b, i) => {
      assert.equal(b.first % 4, 0);
      assert.ok(b.end > b.first && b.end - b.first <= 32);
      if (i > 0) assert.equal(b.first, blocks[i - 1]!.end);
    });
    assert.equal(blocks.at(-1)!.end, queries);
  }
});

test('aborting stops the workers and rejects with the reason; an aborted signal rejects at once', async () => {
  const f = fixture(20_000, 256, 64, 5);
  const data = load(f);
  const controller = new AbortController();
  const reason = new Error('cancelled by the test');
  setTimeout(() => controller.abort(reason), 50);
  await assert.rejects(scanInWorkers(data, { lanes: 2, k: 10, signal: controller.signal }), (err) => err === reason);
  await assert.rejects(scanInWorkers(data, { lanes: 2, k: 10, signal: AbortSignal.abort(reason) }), (err) => err === reason);
});

test('binary COPY reader reassembles tuples split at any chunk boundary; float4 decoding matches decodeVector', async () => {
  const normal = gaussian(mulberry32(3));
  const rows = Array.from({ length: 25 }, (_, i) => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    trust: i / 10,
    vector: Float32Array.from({ length: 7 }, () => normal()),
  }));
  const stream = Buffer.concat([
    copyHeader(),
    ...rows.map((r) => encodeRow([{ kind: 'uuid', value: r.id }, { kind: 'float8', value: r.trust }, { kind: 'vector', value: r.vector }])),
    copyTrailer(),
  ]);
  for (const chunkSize of [1, 3, 17, 64, stream.length]) {
    const chunks = Array.from({ length: Math.ceil(stream.length / chunkSize) }, (_, i) => stream.subarray(i * chunkSize, (i + 1) * chunkSize));
    const seen: { trust: number; vector: Float32Array }[] = [];
    const count = await readBinaryCopy((async function* () { yield* chunks; })(), (buf, fields) => {
      const vector = new Float32Array(7);
      readFloat4sBE(buf, fields[4]! + 4, vector);
      assert.deepEqual(vector, decodeVector(buf, fields[4]!));
      seen.push({ trust: buf.readDoubleBE(fields[2]!), vector });
    });
    assert.equal(count, rows.length, `chunk size ${chunkSize}`);
    assert.deepEqual(seen, rows.map((r) => ({ trust: r.trust, vector: r.vector })));
  }
  await assert.rejects(readBinaryCopy((async function* () { yield stream.subarray(0, stream.length - 2); })(), () => undefined), /without its trailer/);
  assert.deepEqual(decodeVector(encodeVector(rows[0]!.vector)), rows[0]!.vector);
});

test('comparison with PostgreSQL allows swaps only between near-equal similarities', () => {
  const a = { id: 'a', similarity: 0.5 };
  const b = { id: 'b', similarity: 0.5 + SWAP_TOLERANCE / 2 };
  const c = { id: 'c', similarity: 0.4 };
  assert.deepEqual(compareTopK([a, b, c], [a, b, c]).mismatch, null);
  const swapped = compareTopK([b, a, c], [a, b, { id: 'c', similarity: 0.4 + 1e-7 }]);
  assert.equal(swapped.mismatch, null);
  assert.equal(swapped.swaps, 2);
  assert.ok(Math.abs(swapped.maxSimilarityDelta - 1e-7) < 1e-9);
  assert.match(compareTopK([a, c], [a, { id: 'd', similarity: 0.39 }]).mismatch ?? '', /rank 2 is c .* but d /);
  assert.match(compareTopK([a], [a, c]).mismatch ?? '', /1 neighbours in process, 2 from PostgreSQL/);
  assert.match(compareTopK([a], [{ id: 'a', similarity: 0.6 }]).mismatch ?? '', /similarities of the same rows differ/);
});
