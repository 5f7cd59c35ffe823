/**
 * Bounds of the capacity workflows' inputs (capacityPopulation, capacityCleanup, indexBuild,
 * capacityRecheck), checked before any activity runs: a batch size of 0 would loop forever, a huge
 * one would hold one transaction over millions of rows. Pure and deterministic, so workflows use it.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { INDEX_TYPES, isIndexType, type IndexType } from '../db/index-types.js';

/** The schema's vector(1536) (src/db/schema.ts EMBEDDING_DIMENSIONS; a unit test keeps them equal). */
export const SCHEMA_DIMENSIONS = 1536;

export const CAPACITY_LIMITS = {
  total: { min: 1, max: 10_000_000 },
  batchSize: { min: 1, max: 100_000 },
  concurrency: { min: 1, max: 16 },
  /** Rows deleted per cleanup transaction. */
  cleanupBatchSize: { min: 1, max: 100_000 },
  maintenanceWorkMemCapMb: { min: 1, max: 1_048_576 },
  parallelWorkers: { min: 0, max: 64 },
  runKeyLength: { min: 1, max: 200 },
} as const;

const fmt = (n: number) => n.toLocaleString('en-US');

function invalid(field: string, value: unknown, allowed: string): never {
  throw ApplicationFailure.nonRetryable(
    `${field} must be ${allowed}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}; start the workflow again with ${field} in that range`,
    'InvalidCapacityInput',
  );
}

/** An HNSW index type (src/db/index-types.ts), or undefined for the activity's default. */
export function indexTypeInput(field: string, value: unknown): IndexType | undefined {
  if (value === undefined) return undefined;
  if (!isIndexType(value)) invalid(field, value, `one of ${INDEX_TYPES.join(', ')}`);
  return value;
}

/** An integer within [min, max] (bounds inclusive). */
export function intInRange(field: string, value: number, range: { min: number; max: number }): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    invalid(field, value, `an integer from ${fmt(range.min)} to ${fmt(range.max)}`);
  }
  return value;
}

export function positiveFinite(field: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) invalid(field, value, 'a finite number > 0');
  return value;
}

/** A finite number within [min, max]; `max` absent means no upper bound. */
export function finiteInRange(field: string, value: number, min: number, max?: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (max !== undefined && value > max)) {
    invalid(field, value, max === undefined ? `a finite number >= ${min}` : `a finite number from ${min} to ${max}`);
  }
  return value;
}

export function runKeyOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const { min, max } = CAPACITY_LIMITS.runKeyLength;
  if (typeof value !== 'string' || value.trim().length < min || value.length > max) invalid('runKey', value, `a non-blank string of at most ${max} characters`);
  return value;
}

export interface CapacityShape {
  total: number;
  batchSize: number;
  concurrency: number;
  dimensions: number;
  clusters: number;
  sigma: number;
  generatorSeed: number;
}

/**
 * Everything that shapes the capacity rows, after defaults are applied. Clusters are at most one per
 * row (`maxClusters`, default `total`); a caller may allow its default cluster count above a small
 * total, where the clusters beyond the rows simply go unused (row g is cluster g mod clusters).
 */
export function validateCapacityShape(o: CapacityShape, limits: { maxClusters?: number } = {}): CapacityShape {
  const total = intInRange('total', o.total, CAPACITY_LIMITS.total);
  if (o.dimensions !== SCHEMA_DIMENSIONS) invalid('dimensions', o.dimensions, `${SCHEMA_DIMENSIONS} (the schema's vector(${SCHEMA_DIMENSIONS}))`);
  return {
    total,
    batchSize: intInRange('batchSize', o.batchSize, CAPACITY_LIMITS.batchSize),
    concurrency: intInRange('concurrency', o.concurrency, CAPACITY_LIMITS.concurrency),
    dimensions: o.dimensions,
    clusters: intInRange('clusters', o.clusters, { min: 1, max: limits.maxClusters ?? total }),
    sigma: positiveFinite('sigma', o.sigma),
    generatorSeed: intInRange('generatorSeed', o.generatorSeed, { min: 0, max: Number.MAX_SAFE_INTEGER }),
  };
}
