import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createLatencyHistogram, latencyCdf, percentile, recallAtK, recordMs, summarizeLatency, summarizeRecall,
} from '../../../src/benchmark/stats.js';
import { clusterOfQuery, generateQueryVectors, type QuerySetSpec } from '../../../src/benchmark/query-set.js';
import { normalizeInPlace } from '../../../src/capacity/random.js';

test('HDR latency percentiles of 1..10,000 µs are within 0.1% of the exact ones; max and count are exact', () => {
  const h = createLatencyHistogram();
  for (let us = 1; us <= 10_000; us++) recordMs(h, us / 1000);
  const s = summarizeLatency(h);
  const near = (got: number, want: number) => assert.ok(Math.abs(got - want) <= want * 0.001 + 0.001, `${got} vs ${want}`);
  assert.equal(s.count, 10_000);
  near(s.p50, 5.0);
  near(s.p95, 9.5);
  near(s.p99, 9.9);
  near(s.p999, 9.99);
  assert.equal(s.max, 10);
  assert.equal(s.min, 0.001);
  near(s.mean, 5.0005);
});

test('a single slow outlier among fast queries shows in p99.9 and max, not in p50', () => {
  const h = createLatencyHistogram();
  for (let i = 0; i < 499; i++) recordMs(h, 2);
  recordMs(h, 250);
  const s = summarizeLatency(h);
  assert.ok(Math.abs(s.p50 - 2) < 0.002 && Math.abs(s.p99 - 2) < 0.002, JSON.stringify(s));
  assert.ok(Math.abs(s.p999 - 250) < 0.25, JSON.stringify(s));
  assert.equal(s.max, 250);
});

test('sub-microsecond timings are recorded as 1 µs, never dropped', () => {
  const h = createLatencyHistogram();
  recordMs(h, 0.0001);
  assert.equal(summarizeLatency(h).count, 1);
  assert.equal(summarizeLatency(h).max, 0.001);
});


test('the CDF is monotone, starts at the minimum and ends at 100% with the max', () => {
  const h = createLatencyHistogram();
  for (let i = 1; i <= 500; i++) recordMs(h, i * 0.1);
  const cdf = latencyCdf(h);
  assert.equal(cdf[0]!.percentile, 0);
  assert.equal(cdf[0]!.ms, 0.1);
  assert.deepEqual(cdf.at(-1), { percentile: 100, ms: 50 });
  for (let i = 1; i < cdf.length; i++) {
    assert.ok(cdf[i]!.percentile > cdf[i - 1]!.percentile);
    assert.ok(cdf[i]!.ms >= cdf[i - 1]!.ms);
  }
  assert.deepEqual(latencyCdf(createLatencyHistogram()), []);
});

test('nearest-rank percentiles on known samples', () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i); // unsorted on purpose
  assert.equal(percentile(values, 5), 5);
  assert.equal(percentile(values, 50), 50);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile(values, 100), 100);
  assert.equal(percentile(values, 0), 1);
  assert.equal(percentile([0.2, 0.9, 0.4], 50), 0.4);
  assert.equal(percentile([], 50), 0);
});

test('recall@10 counts the true neighbours found among the returned top 10', () => {
  const truth = 'abcdefghij'.split('');
  assert.equal(recallAtK(truth, truth), 1);
  assert.equal(recallAtK([...'abcdefg', 'x', 'y', 'z'], truth), 0.7);
  assert.equal(recallAtK([...'jihgfedcba'], truth), 1, 'order within the top 10 does not matter');
  assert.equal(recallAtK(['x', 'y', ...'abcdefghij'], truth), 0.8, 'only the first 10 returned count');
  assert.equal(recallAtK([], truth), 0);
  assert.equal(recallAtK(['a', 'b'], ['a', 'b', 'c']), 2 / 3, 'fewer than 10 true neighbours (tiny table)');
});

test('recall summary of constructed overlaps: mean, p5, min and the share at zero', () => {
  const truth = 'abcdefghij'.split('');
  const returned = [truth, [...'abcdefg', 'x', 'y', 'z'], [...'klmnopqrst'], [...'abcde', ...'vwxyz']];
  const s = summarizeRecall(returned.map((r) => recallAtK(r, truth)));
  assert.deepEqual(s, { queries: 4, mean: 0.55, p5: 0, min: 0, zeroShare: 0.25 });
});

test('the query set is deterministic, spans the clusters, and never repeats a vector', () => {
  const dims = 64;
  const centres = Array.from({ length: 10 }, (_, c) => normalizeInPlace(Float32Array.from({ length: dims }, (_, i) => (i === c ? 1 : 0.01))));
  const spec: QuerySetSpec = {
    dataset: { runKey: 'k', dimensions: dims, clusters: 10, sigma: 0.05, generatorSeed: 42 },
    queryCount: 25,
    querySeed: 7,
    modelId: 'm',
  };
  const a = generateQueryVectors(spec, centres);
  const b = generateQueryVectors(spec, centres);
  assert.deepEqual(a, b);
  assert.deepEqual([...new Set(a.clusters)].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(new Set(a.vectors.map((v) => v.join(','))).size, 25);
  const other = generateQueryVectors({ ...spec, querySeed: 8 }, centres);
  assert.notDeepEqual(other.vectors[0], a.vectors[0]);
  // Fewer queries than clusters: spread evenly, not the first few clusters only.
  assert.deepEqual(Array.from({ length: 4 }, (_, q) => clusterOfQuery(q, 4, 1000)), [0, 250, 500, 750]);
});
