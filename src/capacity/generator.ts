/**
 * Deterministic synthetic traces: row g of a run is cluster (g mod clusters), its vector the
 * cluster centre plus N(0, sigma²) noise per dimension, renormalized; its text comes from a seeded
 * faker, its trust score from syntheticTrust. Everything derives from (generatorSeed, runKey, batchIndex), so a retried batch regenerates
 * exactly the rows it would have written the first time.
 */
import { Faker, base, en } from '@faker-js/faker';
import { deterministicUuid, gaussian, mulberry32, normalizeInPlace, seedFrom } from './random.js';

export interface BatchSpec {
  runKey: string;
  batchIndex: number;
  batchSize: number;
  total: number;
  dimensions: number;
  clusters: number;
  sigma: number;
  generatorSeed: number;
}

export interface SyntheticTrace {
  id: string;
  globalIndex: number;
  cluster: number;
  title: string;
  context: string;
  solution: string;
  embedding: Float32Array;
  trustScore: number;
}

/**
 * Trust scores of synthetic rows, so the search path's trust re-ranking has something to reorder:
 * most rows are confirmed (1.0), LOW_TRUST_SHARE are weakly confirmed with a trust below 0.5.
 * Drawn from their own stream, so the vectors are the same with or without them.
 */
export const LOW_TRUST_SHARE = 0.1;

export function syntheticTrust(uniform: () => number): number {
  return uniform() < LOW_TRUST_SHARE ? Math.round(uniform() * 50) / 100 : 1;
}

export function batchRange(spec: Pick<BatchSpec, 'batchIndex' | 'batchSize' | 'total'>): { start: number; end: number } {
  const start = spec.batchIndex * spec.batchSize;
  return { start, end: Math.min(spec.total, start + spec.batchSize) };
}

export function capacityRowId(runKey: string, globalIndex: number): string {
  return deterministicUuid(`capacity:${runKey}:${globalIndex}`);
}

/** The batch's rows one at a time, so a writer can stream them into COPY while they are generated. */
export function* generateRows(spec: BatchSpec, centres: readonly Float32Array[]): Generator<SyntheticTrace> {
  const { start, end } = batchRange(spec);
  const normal = gaussian(mulberry32(seedFrom(spec.generatorSeed, spec.runKey, spec.batchIndex, 'vectors')));
  const trust = mulberry32(seedFrom(spec.generatorSeed, spec.runKey, spec.batchIndex, 'trust'));
  // One Faker per batch: batches generated interleaved in one process must not share a seeded instance.
  const faker = new Faker({ locale: [en, base], seed: seedFrom(spec.generatorSeed, spec.runKey, spec.batchIndex, 'text') });
  for (let g = start; g < end; g++) {
    const cluster = g % spec.clusters;
    const centre = centres[cluster % centres.length]!;
    const embedding = new Float32Array(spec.dimensions);
    for (let i = 0; i < spec.dimensions; i++) embedding[i] = centre[i]! + spec.sigma * normal();
    normalizeInPlace(embedding);
    const tool = faker.hacker.noun();
    yield {
      id: capacityRowId(spec.runKey, g),
      globalIndex: g,
      cluster,
      title: `Capacity trace ${g}: ${faker.hacker.verb()} the ${faker.hacker.adjective()} ${tool}`,
      context: `${faker.hacker.phrase()} ${faker.lorem.sentences(3)}`,
      solution: `${faker.lorem.paragraph(2)}\n\n\`\`\`bash\n${faker.system.commonFileName('sh')} --${tool.replace(/\W+/g, '-')} ${faker.number.int({ min: 1, max: 999 })}\n\`\`\`\n`,
      embedding,
      trustScore: syntheticTrust(trust),
    };
  }
}

export function generateBatch(spec: BatchSpec, centres: readonly Float32Array[]): SyntheticTrace[] {
  return Array.from(generateRows(spec, centres));
}
