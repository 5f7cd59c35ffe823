import { test } from 'node:test';
import assert from 'node:assert/strict';
import { orchestratedFirst, summarizeOverhead, type OverheadRound } from '../../src/benchmark/overhead.js';

const round = (first: boolean, orchestrated: [number, number], raw: [number, number]): OverheadRound => ({
  orchestratedFirst: first,
  orchestrated: { p50: orchestrated[0], p99: orchestrated[1] },
  raw: { p50: raw[0], p99: raw[1] },
});

test('the overhead ratio is of the medians over the rounds, so one disturbed pass cannot set it', () => {
  const rounds = [
    round(true, [6, 10], [6, 11]),
    round(false, [6, 30], [5, 10]), // a checkpoint landed in this orchestrated pass
    round(true, [7, 12], [6, 9]),
  ];
  assert.deepEqual(summarizeOverhead(rounds), { orchestratedP99Ms: 12, rawP99Ms: 10, overheadRatio: 1.2, p50Ratio: 1 });
});

test('one round gives that round’s ratio; no rounds is an error, not a ratio of zero', () => {
  assert.equal(summarizeOverhead([round(true, [5, 15], [5, 10])]).overheadRatio, 1.5);
  assert.throws(() => summarizeOverhead([]), /at least one round/);
});

test('rounds alternate which side goes first', () => {
  assert.deepEqual([0, 1, 2, 3].map(orchestratedFirst), [true, false, true, false]);
});
