import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contributionText, planWrites, summarizeDelays, writeSchedule } from '../../../src/benchmark/mixed-plan.js';
import { traceEmbeddingText } from '../../../src/embeddings/embedder.js';
import { QUERY_MAX_LENGTH } from '../../../src/api/schemas.js';

test('planWrites: the fewest writers that keep each within its rate, sharing the total equally', () => {
  const cases: [number, number, { writers: number; perWriterPerMinute: number; intervalMs: number }][] = [
    [60, 15, { writers: 4, perWriterPerMinute: 15, intervalMs: 4_000 }],
    [50, 15, { writers: 4, perWriterPerMinute: 12.5, intervalMs: 4_800 }],
    [20, 20, { writers: 1, perWriterPerMinute: 20, intervalMs: 3_000 }],
    [21, 20, { writers: 2, perWriterPerMinute: 10.5, intervalMs: 60_000 / 10.5 }],
    [1, 15, { writers: 1, perWriterPerMinute: 1, intervalMs: 60_000 }],
  ];
  for (const [total, max, expected] of cases) assert.deepEqual(planWrites(total, max), expected, `${total}/min, at most ${max} each`);
});

test('planWrites refuses a rate that is not positive', () => {
  assert.throws(() => planWrites(0, 15), RangeError);
  assert.throws(() => planWrites(60, 0), RangeError);
  assert.throws(() => planWrites(Number.NaN, 15), RangeError);
});

test('writeSchedule: writers staggered across the interval, every write before the end, in time order', () => {
  assert.deepEqual(writeSchedule({ writers: 2, perWriterPerMinute: 20, intervalMs: 3_000 }, 7), [
    { writer: 0, seq: 0, atMs: 0 },
    { writer: 1, seq: 0, atMs: 1_500 },
    { writer: 0, seq: 1, atMs: 3_000 },
    { writer: 1, seq: 1, atMs: 4_500 },
    { writer: 0, seq: 2, atMs: 6_000 },
  ]);
  // 60 writes a minute for 20 s: 20 writes, one every second.
  const slots = writeSchedule(planWrites(60, 15), 20);
  assert.equal(slots.length, 20);
  assert.deepEqual(slots.map((s) => s.atMs), Array.from({ length: 20 }, (_, i) => i * 1_000));
  assert.deepEqual(writeSchedule({ writers: 1, perWriterPerMinute: 1, intervalMs: 60_000 }, 1), [{ writer: 0, seq: 0, atMs: 0 }]);
});

test('summarizeDelays: nearest-rank percentiles of the searchable, the rest counted as never', () => {
  assert.deepEqual(summarizeDelays([700, 100, 1_000, 300, 200, 900, 400, 600, 500, 800]), {
    contributions: 10, searchable: 10, neverSearchable: 0, p50Ms: 500, p95Ms: 1_000, maxMs: 1_000,
  });
  assert.deepEqual(summarizeDelays([null, 300, null, 100, 200]), {
    contributions: 5, searchable: 3, neverSearchable: 2, p50Ms: 200, p95Ms: 300, maxMs: 300,
  });
  assert.deepEqual(summarizeDelays([12.345]), { contributions: 1, searchable: 1, neverSearchable: 0, p50Ms: 12.3, p95Ms: 12.3, maxMs: 12.3 });
  assert.deepEqual(summarizeDelays([null, null]), { contributions: 2, searchable: 0, neverSearchable: 2, p50Ms: null, p95Ms: null, maxMs: null });
  assert.deepEqual(summarizeDelays([]), { contributions: 0, searchable: 0, neverSearchable: 0, p50Ms: null, p95Ms: null, maxMs: null });
});

test('contributionText: unique per writer and write, and its whole embedding text fits in a search query', () => {
  const tag = 'x'.repeat(40);
  const texts = new Set<string>();
  for (let writer = 0; writer < 12; writer++) {
    for (let seq = 0; seq < 50; seq++) {
      const t = contributionText(tag, writer, seq);
      const query = traceEmbeddingText({ title: t.title, contextText: t.context, solutionText: t.solution });
      assert.ok(query.length <= QUERY_MAX_LENGTH, `${query.length} characters`);
      texts.add(query);
    }
  }
  assert.equal(texts.size, 12 * 50);
  assert.ok(contributionText('big-tag', 99, 99_999).title.length <= 200);
});
