import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchTagAssignments, capacityRowId, CAPACITY_TAGS } from '../../src/capacity/generator.js';

const RUN_KEY = 'capacity-100000x1536-b1000-c1000-s42-n0.05-random-trust10';
const batch = (batchIndex: number, generatorSeed = 42, runKey = RUN_KEY) =>
  batchTagAssignments({ runKey, generatorSeed, batchIndex, start: batchIndex * 1000, end: batchIndex * 1000 + 1000 });

test('the capacity tags are ~10% and ~1% of rows', () => {
  assert.deepEqual(CAPACITY_TAGS.map((t) => [t.name, t.share]), [['capacity-10pct', 0.1], ['capacity-1pct', 0.01]]);
});

test('over 100,000 rows each tag lands within 4 binomial standard deviations of its share, spread over every cluster', () => {
  const assignments = Array.from({ length: 100 }, (_, b) => batch(b)).flat();
  const count = (tag: string) => assignments.filter((a) => a.tags.includes(tag as never)).length;
  // n = 100,000: sd = sqrt(n·p·(1-p)) = sqrt(9,000) ≈ 94.9 at p = 0.1 and sqrt(990) ≈ 31.5 at p = 0.01; 4 sd ≈ 380 and 126.
  assert.ok(Math.abs(count('capacity-10pct') - 10_000) <= 380, `capacity-10pct on ${count('capacity-10pct')} rows`);
  assert.ok(Math.abs(count('capacity-1pct') - 1_000) <= 126, `capacity-1pct on ${count('capacity-1pct')} rows`);
  // Independent tags: both on ~0.1% of rows (n·p = 100, sd ≈ 10).
  const both = assignments.filter((a) => a.tags.length === 2).length;
  assert.ok(Math.abs(both - 100) <= 40, `both tags on ${both} rows`);
  // Not tied to the cluster (g mod 1000 at 100K): the 10% tag on 10 of each cluster's 100 rows, sd 3; none empty, none near full.
  const perCluster = new Array<number>(1000).fill(0);
  for (const a of assignments) if (a.tags.includes('capacity-10pct')) perCluster[a.globalIndex % 1000]!++;
  assert.ok(Math.min(...perCluster) >= 1 && Math.max(...perCluster) <= 25, `per-cluster counts from ${Math.min(...perCluster)} to ${Math.max(...perCluster)}`);
});

test('a batch assigns the same tags every time (a retried batch, a backfill), other batches and seeds other ones', () => {
  const first = batch(3);
  assert.deepEqual(batch(3), first);
  assert.notDeepEqual(batch(4).map((a) => a.globalIndex - 1000), first.map((a) => a.globalIndex - 3000));
  assert.notDeepEqual(batch(3, 43).map((a) => a.globalIndex), first.map((a) => a.globalIndex));
  for (const a of first) {
    assert.ok(a.globalIndex >= 3000 && a.globalIndex < 4000);
    assert.equal(a.id, capacityRowId(RUN_KEY, a.globalIndex));
    assert.ok(a.tags.length > 0);
  }
  // A partial last batch draws the same stream: its rows get the tags the full batch's first rows would.
  const partial = batchTagAssignments({ runKey: RUN_KEY, generatorSeed: 42, batchIndex: 3, start: 3000, end: 3500 });
  assert.deepEqual(partial, first.filter((a) => a.globalIndex < 3500));
});
