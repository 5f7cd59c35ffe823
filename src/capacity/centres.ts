/**
 * Cluster centres for synthetic vectors: seeded random unit directions, independent of each other
 * (in 1,536 dimensions they are nearly orthogonal), as in the reference benchmark's 1,000 clusters.
 * Not the seeds' embeddings: at sigma 0.05 a row sits at cosine ~0.45 from its centre while the
 * seeds sit at 0.4–0.65 from each other, so seed-centred rows would be nearer the other seeds than
 * their own cluster, a geometry real traces do not have (and one that traps HNSW greedy search).
 */
import { gaussian, mulberry32, randomUnitVector, seedFrom } from './random.js';

export interface CentreSpec {
  clusters: number;
  dimensions: number;
  generatorSeed: number;
}

export interface CentreSource {
  kind: 'random';
  /** Identifies the centres; batches and benchmark activities refuse to run against other ones. */
  fingerprint: string;
}

const cache = new Map<string, Float32Array[]>();

export function describeCentreSource(spec: CentreSpec): CentreSource {
  return { kind: 'random', fingerprint: `random-v1:${spec.generatorSeed}` };
}

export function loadCentres(spec: CentreSpec, source: CentreSource): Float32Array[] {
  const expected = describeCentreSource(spec);
  if (source.fingerprint !== expected.fingerprint) {
    throw new Error(`the run's centres are ${source.fingerprint}, this code draws ${expected.fingerprint}`);
  }
  const key = JSON.stringify([spec.clusters, spec.dimensions, spec.generatorSeed]);
  const hit = cache.get(key);
  if (hit) return hit;
  const normal = gaussian(mulberry32(seedFrom(spec.generatorSeed, 'centres')));
  const centres = Array.from({ length: spec.clusters }, () => randomUnitVector(spec.dimensions, normal));
  cache.set(key, centres);
  return centres;
}
