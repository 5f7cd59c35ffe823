/**
 * Deterministic synthetic traces: row g of a run is cluster (g mod clusters), its vector the
 * cluster centre plus N(0, sigma²) noise per dimension, renormalized; its text comes from a seeded
 * faker, its trust score from syntheticTrust, its tags from syntheticTags. Everything derives from (generatorSeed, runKey, batchIndex), so a retried batch regenerates
 * exactly the rows it would have written the first time.
 */
import type * as FakerModule from '@faker-js/faker';
import { deterministicUuid, gaussian, mulberry32, normalizeInPlace, seedFrom } from './random.js';
import { CAPACITY_TAGS, type CapacityTagName } from './tag-shares.js';
import { lazyModule } from '../lazy-module.js';

const fakerModule = lazyModule<typeof FakerModule>('@faker-js/faker');

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

/**
 * Tags of synthetic rows with known frequencies (CAPACITY_TAGS), so filtered search can be measured
 * at a known selectivity: each row carries each tag independently with the tag's share. Drawn from
 * their own stream (never from g mod clusters, which would tie a tag to a cluster), so vectors, texts
 * and trust are the same with or without them.
 */
export { CAPACITY_TAGS, type CapacityTagName };

/** One uniform per tag, in CAPACITY_TAGS order, whether or not the row gets the tag. */
export function syntheticTags(uniform: () => number): CapacityTagName[] {
  const tags: CapacityTagName[] = [];
  for (const tag of CAPACITY_TAGS) if (uniform() < tag.share) tags.push(tag.name);
  return tags;
}

/** A row of a batch that carries at least one tag. */
export interface TagAssignment {
  id: string;
  globalIndex: number;
  tags: CapacityTagName[];
}

/**
 * The tagged rows of the batch of global rows [start, end): a function of (generatorSeed, runKey,
 * batchIndex) alone, so a retried batch and a later backfill of the same batch assign the same tags.
 */
export function batchTagAssignments(spec: { runKey: string; generatorSeed: number; batchIndex: number; start: number; end: number }): TagAssignment[] {
  const uniform = mulberry32(seedFrom(spec.generatorSeed, spec.runKey, spec.batchIndex, 'tags'));
  const tagged: TagAssignment[] = [];
  for (let g = spec.start; g < spec.end; g++) {
    const tags = syntheticTags(uniform);
    if (tags.length > 0) tagged.push({ id: capacityRowId(spec.runKey, g), globalIndex: g, tags });
  }
  return tagged;
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
  const { Faker, base, en } = fakerModule();
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
