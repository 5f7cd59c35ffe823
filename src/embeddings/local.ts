/**
 * Deterministic offline embedder: feature hashing ("the hashing trick") of word unigrams, word
 * bigrams and character trigrams into 1536 signed buckets, with sublinear term frequency, then
 * L2-normalized. It has no semantics beyond shared vocabulary, but it is stable across machines and
 * versions of Node, which is what tests, benchmarks and the offline default need.
 */
import { l2Normalize, type Embedder } from './embedder.js';

export const LOCAL_MODEL_ID = 'local-hash-1536-v1';
const DIMENSIONS = 1536;

// Words so common in traces that they carry no topical signal.
const STOPWORDS = new Set(
  ('a an and are as at be but by can do does for from has have how i if in into is it its my of on or ' +
    'so that the their then there these this to too use used using was we what when where which while ' +
    'why will with you your not no after before than also just get got one all any our out up via').split(' '),
);

const WEIGHTS = { unigram: 1.0, bigram: 0.7, trigram: 0.35 } as const;

/** 32-bit FNV-1a: fast, stable, good enough dispersion for feature hashing. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function tokenize(text: string): string[] {
  const all = text.toLowerCase().match(/[a-z0-9][a-z0-9+#]*(?:[._-][a-z0-9+#]+)*/g) ?? [];
  const content = all.filter((t) => !STOPWORDS.has(t));
  // A query of stopwords only ("how do I use it") still deserves a non-zero vector.
  return content.length > 0 ? content : all;
}

export function embedLocal(text: string): number[] {
  const counts = new Map<string, number>();
  const add = (feature: string, weight: number) => counts.set(feature, (counts.get(feature) ?? 0) + weight);
  const tokens = tokenize(text);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    add(`u:${token}`, WEIGHTS.unigram);
    // Split compound tokens (docker-compose, pg_isready) so either spelling matches.
    for (const part of token.split(/[._-]/)) if (part !== token && part.length > 1) add(`u:${part}`, WEIGHTS.unigram * 0.5);
    if (i + 1 < tokens.length) add(`b:${token} ${tokens[i + 1]}`, WEIGHTS.bigram);
    const padded = `#${token}#`;
    for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, WEIGHTS.trigram);
  }
  const vector = new Float32Array(DIMENSIONS);
  for (const [feature, weight] of counts) {
    const h = fnv1a(feature);
    const sign = h & 0x80000000 ? -1 : 1;
    // Sublinear tf keeps one repeated word in a long code block from dominating the vector.
    vector[h % DIMENSIONS]! += sign * Math.log1p(weight);
  }
  return l2Normalize(vector);
}

export class LocalEmbedder implements Embedder {
  readonly modelId = LOCAL_MODEL_ID;
  readonly dimensions = DIMENSIONS;
  readonly maxBatchSize = 512;

  async embed(texts: string[]): Promise<number[][]> {
    return texts.map(embedLocal);
  }
}
