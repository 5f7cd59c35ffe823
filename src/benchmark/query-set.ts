/**
 * The held-out benchmark queries: noisy copies of the capacity data's cluster centres, drawn with the
 * data's own noise level but from a separate seed stream, so they look like unseen rows of the same
 * distribution and are never rows of the table (the ground truth checks that no query sits at
 * distance 0 from a row) nor one vector repeated.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { describeCentreSource, loadCentres, type CentreSource } from '../capacity/centres.js';
import { gaussian, mulberry32, normalizeInPlace, seedFrom } from '../capacity/random.js';
import { encodeVector } from '../db/vector-binary.js';
import { toVectorLiteral } from '../embeddings/embedder.js';

/** The capacity dataset the queries are drawn for (same fields as its capacityPopulation run). */
export interface DatasetSpec {
  runKey: string;
  dimensions: number;
  clusters: number;
  sigma: number;
  generatorSeed: number;
}

export interface QuerySetSpec {
  dataset: DatasetSpec;
  queryCount: number;
  querySeed: number;
  modelId: string;
}

export interface QuerySet {
  spec: QuerySetSpec;
  centres: CentreSource;
  /** The query vectors (unit length), for exact computations in process. */
  vectors: Float32Array[];
  /** pgvector binary parameters, encoded once so serialization never falls inside a timed region. */
  params: Buffer[];
  /** pgvector text literals of the same vectors, for tools that take text (psql, pgbench). */
  literals: string[];
  clusters: number[];
}

export function clusterOfQuery(q: number, queryCount: number, clusters: number): number {
  // Fewer queries than clusters: spread them evenly instead of using only the first clusters.
  return queryCount >= clusters ? q % clusters : Math.floor((q * clusters) / queryCount);
}

export function generateQueryVectors(spec: QuerySetSpec, centres: readonly Float32Array[]): { vectors: Float32Array[]; clusters: number[] } {
  const { dataset } = spec;
  const normal = gaussian(mulberry32(seedFrom(dataset.generatorSeed, dataset.runKey, spec.querySeed, 'benchmark-queries')));
  const vectors: Float32Array[] = [];
  const clusters: number[] = [];
  for (let q = 0; q < spec.queryCount; q++) {
    const cluster = clusterOfQuery(q, spec.queryCount, dataset.clusters);
    const centre = centres[cluster % centres.length]!;
    const v = new Float32Array(dataset.dimensions);
    for (let i = 0; i < v.length; i++) v[i] = centre[i]! + dataset.sigma * normal();
    vectors.push(normalizeInPlace(v));
    clusters.push(cluster);
  }
  return { vectors, clusters };
}

/** Identifies a query set and the data it is judged against; the ground-truth cache is keyed by it. */
export function groundTruthKey(spec: QuerySetSpec, centres: CentreSource, traceCount: number): string {
  const digest = createHash('sha1').update(JSON.stringify([spec, centres.fingerprint, traceCount])).digest('hex').slice(0, 16);
  return `${spec.dataset.runKey}:n${traceCount}:s${spec.dataset.generatorSeed}:q${spec.querySeed}x${spec.queryCount}:${digest}`;
}

let cached: { key: string; set: QuerySet } | undefined;

/**
 * Builds (or reuses, within one process) the query set. `expected` pins the centre source the run
 * started with, so every activity of one benchmark draws the same queries.
 */
export async function loadQuerySet(pool: pg.Pool, spec: QuerySetSpec, expected?: CentreSource): Promise<QuerySet> {
  const centreSpec = {
    clusters: spec.dataset.clusters, dimensions: spec.dataset.dimensions, generatorSeed: spec.dataset.generatorSeed,
  };
  const source = expected ?? describeCentreSource(centreSpec);
  const key = JSON.stringify([spec, source.fingerprint]);
  if (cached?.key === key) return cached.set;
  const centres = loadCentres(centreSpec, source);
  const { vectors, clusters } = generateQueryVectors(spec, centres);
  const set: QuerySet = {
    spec, centres: source, vectors, params: vectors.map(encodeVector), literals: vectors.map((v) => toVectorLiteral(Array.from(v))), clusters,
  };
  cached = { key, set };
  return set;
}
