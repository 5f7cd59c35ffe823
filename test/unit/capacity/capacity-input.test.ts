import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { SCHEMA_DIMENSIONS, validateCapacityShape, type CapacityShape } from '../../../src/workflows/capacity-input.js';
import { CAPACITY_DEFAULTS, defaultRunKey } from '../../../src/workflows/capacity-population.js';
import { EMBEDDING_DIMENSIONS } from '../../../src/db/constants.js';

const SHAPE: CapacityShape = { total: 100_000, batchSize: 1_000, concurrency: 2, dimensions: 1536, clusters: 1_000, sigma: 0.05, generatorSeed: 42 };

test('the run key covers the batch size, and keeps the -random-trust10 suffix', () => {
  assert.equal(defaultRunKey({ ...CAPACITY_DEFAULTS }), 'capacity-100000x1536-b1000-c1000-s42-n0.05-random-trust10');
  assert.equal(defaultRunKey({ ...CAPACITY_DEFAULTS, batchSize: 500 }), 'capacity-100000x1536-b500-c1000-s42-n0.05-random-trust10');
  assert.notEqual(defaultRunKey({ ...CAPACITY_DEFAULTS, batchSize: 500 }), defaultRunKey({ ...CAPACITY_DEFAULTS, batchSize: 1_000 }));
});

test("the validation module's dimensions are the schema's", () => {
  assert.equal(SCHEMA_DIMENSIONS, EMBEDDING_DIMENSIONS);
});

test('valid shapes pass unchanged, bounds included', () => {
  assert.deepEqual(validateCapacityShape(SHAPE), SHAPE);
  const edges = { ...SHAPE, total: 10_000_000, batchSize: 100_000, concurrency: 16, clusters: 10_000_000 };
  assert.deepEqual(validateCapacityShape(edges), edges);
  const low = { ...SHAPE, total: 1, batchSize: 1, concurrency: 1, clusters: 1, generatorSeed: 0 };
  assert.deepEqual(validateCapacityShape(low), low);
});

test('each bad field is a non-retryable InvalidCapacityInput naming the field, the value and the range', () => {
  const cases: [Partial<CapacityShape>, RegExp][] = [
    [{ batchSize: 0 }, /^batchSize must be an integer from 1 to 100,000, got 0;/],
    [{ batchSize: -5 }, /^batchSize must be an integer from 1 to 100,000, got -5;/],
    [{ batchSize: 1e9 }, /^batchSize must be an integer from 1 to 100,000, got 1000000000;/],
    [{ batchSize: 2.5 }, /^batchSize must be an integer from 1 to 100,000, got 2\.5;/],
    [{ total: 0 }, /^total must be an integer from 1 to 10,000,000, got 0;/],
    [{ total: 20_000_000 }, /^total must be an integer from 1 to 10,000,000, got 20000000;/],
    [{ concurrency: 17 }, /^concurrency must be an integer from 1 to 16, got 17;/],
    [{ clusters: 100_001 }, /^clusters must be an integer from 1 to 100,000, got 100001;/],
    [{ sigma: 0 }, /^sigma must be a finite number > 0, got 0;/],
    [{ sigma: Number.POSITIVE_INFINITY }, /^sigma must be a finite number > 0, got Infinity;/],
    [{ sigma: Number.NaN }, /^sigma must be a finite number > 0, got NaN;/],
    [{ dimensions: 768 }, /^dimensions must be 1536 \(the schema's vector\(1536\)\), got 768;/],
    [{ generatorSeed: -1 }, /^generatorSeed must be an integer from 0 to /],
  ];
  for (const [bad, message] of cases) {
    assert.throws(() => validateCapacityShape({ ...SHAPE, ...bad }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure, JSON.stringify(bad));
      assert.equal(err.type, 'InvalidCapacityInput');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, message);
      return true;
    }, JSON.stringify(bad));
  }
});
