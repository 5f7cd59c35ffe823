/**
 * Deterministic synthetic traces: row g of a run is cluster (g mod clusters), its vector the
 * cluster centre plus N(0, sigma²) noise per dimension, renormalized; its text comes from a seeded
 * faker. Everything derives from (generatorSeed, runKey, batchIndex), so a retried batch regenerates
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
}

const faker = new Faker({ locale: [en, base] });

export function batchRange(spec: Pick<BatchSpec, 'batchIndex' | 'batchSize' | 'total'>): { start: number; end: number } {
  const start = spec.batchIndex * spec.batchSize;
  return { start, end: Math.min(spec.total, start + spec.batchSize) };
}

export function capacityRowId(runKey: string, globalIndex: number): string {
  return deterministicUuid(`capacity:${runKey}:${globalIndex}`);
}

export function generateBatch(spec: BatchSpec, centres: readonly Float32Array[]): SyntheticTrace[] {
  const { start, end } = batchRange(spec);
  const normal = gaussian(mulberry32(seedFrom(spec.generatorSeed, spec.runKey, spec.batchIndex, 'vectors')));
  faker.seed(seedFrom(spec.generatorSeed, spec.runKey, spec.batchIndex, 'text'));
  const rows: SyntheticTrace[] = [];
  for (let g = start; g < end; g++) {
    const cluster = g % spec.clusters;
    const centre = centres[cluster % centres.length]!;
    const embedding = new Float32Array(spec.dimensions);
    for (let i = 0; i < spec.dimensions; i++) embedding[i] = centre[i]! + spec.sigma * normal();
    normalizeInPlace(embedding);
    const tool = faker.hacker.noun();
    rows.push({
      id: capacityRowId(spec.runKey, g),
      globalIndex: g,
      cluster,
      title: `Capacity trace ${g}: ${faker.hacker.verb()} the ${faker.hacker.adjective()} ${tool}`,
      context: `${faker.hacker.phrase()} ${faker.lorem.sentences(3)}`,
      solution: `${faker.lorem.paragraph(2)}\n\n\`\`\`bash\n${faker.system.commonFileName('sh')} --${tool.replace(/\W+/g, '-')} ${faker.number.int({ min: 1, max: 999 })}\n\`\`\`\n`,
      embedding,
    });
  }
  return rows;
}
