/**
 * The blocked exact scan: one pass over all rows serves a block of up to MAX_QUERY_BLOCK queries.
 * For each block of ROW_BLOCK rows the SIMD kernel fills a queries × rows table of similarities,
 * then every query keeps its top-k by similarity and, from the same numbers, its top-k by the
 * search path's re-rank score (similarity and trust), both over every row.
 */
import { rerankScore } from '../../search/candidates.js';
import { MAX_QUERY_BLOCK, ROW_BLOCK, type ExactData } from './exact-data.js';
import { createDotKernel, QUERY_QUAD, ROW_PAIR } from './simd-dot.js';
import { TopK, type RankedRows } from './top-k.js';

export interface QueryNeighbours {
  /** By cosine similarity, most similar first; scores are similarities. */
  nearest: RankedRows;
  /** By rerankScore(similarity, trust), best first; scores are re-rank scores. */
  reranked: RankedRows;
}

/** Scans queries [first, end) (first a multiple of 4, at most MAX_QUERY_BLOCK of them) against every row. */
export type BlockScanner = (first: number, end: number, onRows?: (rowsDone: number) => void) => QueryNeighbours[];

/** A scanner writing its kernel output to lane `lane`'s area of the shared memory. */
export function createBlockScanner(data: ExactData, lane: number, k: number): BlockScanner {
  const { layout } = data;
  const vectorBytes = layout.stride * 4;
  const dots = createDotKernel(data.memory, layout.stride, ROW_BLOCK);
  const outAt = layout.outputOffset + lane * layout.outputBytes;
  const out = new Float32Array(data.memory.buffer, outAt, MAX_QUERY_BLOCK * ROW_BLOCK);
  const trust = data.trustScores;

  return (first, end, onRows) => {
    const count = end - first;
    if (first % QUERY_QUAD !== 0 || count < 0 || count > MAX_QUERY_BLOCK || end > layout.queries) {
      throw new RangeError(`bad query block [${first}, ${end})`);
    }
    const nearest = Array.from({ length: count }, () => new TopK(k));
    const reranked = Array.from({ length: count }, () => new TopK(k));
    const paddedCount = Math.ceil(count / QUERY_QUAD) * QUERY_QUAD;
    for (let start = 0; start < layout.rows && count > 0; start += ROW_BLOCK) {
      const rows = Math.min(ROW_BLOCK, layout.rows - start);
      const paddedRows = Math.ceil(rows / ROW_PAIR) * ROW_PAIR;
      dots(layout.queriesOffset + first * vectorBytes, paddedCount, layout.rowsOffset + start * vectorBytes, paddedRows, outAt);
      for (let q = 0; q < count; q++) {
        const near = nearest[q]!;
        const best = reranked[q]!;
        const base = q * ROW_BLOCK;
        for (let r = 0; r < rows; r++) {
          const similarity = out[base + r]!;
          if (similarity > near.threshold) near.insert(start + r, similarity);
          const score = rerankScore(similarity, trust[start + r]!);
          if (score > best.threshold) best.insert(start + r, score);
        }
      }
      onRows?.(start + rows);
    }
    return nearest.map((near, q) => ({ nearest: near.result(), reranked: reranked[q]!.result() }));
  };
}

/** Every query in this thread, block after block (small inputs and tests; workers split big ones). */
export function scanAllQueries(data: ExactData, k: number): QueryNeighbours[] {
  const scan = createBlockScanner(data, 0, k);
  const results: QueryNeighbours[] = [];
  for (let first = 0; first < data.layout.queries; first += MAX_QUERY_BLOCK) {
    results.push(...scan(first, Math.min(data.layout.queries, first + MAX_QUERY_BLOCK)));
  }
  return results;
}
