/** Comparing a computed top k with an independently ranked one. */
import assert from 'node:assert/strict';

export interface Scored { id: string; score: number }

/** Same ids in the same order, except at ranks where the two expected scores are within float rounding (ties). */
export function assertRanking(got: string[], want: Scored[], what: string): void {
  const scoreOf = new Map(want.map((w) => [w.id, w.score]));
  assert.equal(got.length, want.length, what);
  want.forEach((w, rank) => {
    if (got[rank] === w.id) return;
    const theirs = scoreOf.get(got[rank]!);
    assert.ok(theirs !== undefined && Math.abs(theirs - w.score) < 1e-6, `${what} rank ${rank + 1}: ${got[rank]}, the independent ranking has ${w.id} there`);
  });
}
