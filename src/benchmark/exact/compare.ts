/**
 * Compares one query's in-process top-k with PostgreSQL's exact scan of the same query. The two
 * compute the same cosine similarities in float32 with different summation orders, so they may
 * order rows whose similarities are within rounding of each other differently, or pick a different
 * row at the k-th place on a tie. Everything else is a real disagreement.
 */
export interface ScoredId {
  id: string;
  similarity: number;
}

/** Two different ids may hold the same rank only if their similarities differ by less than this. */
export const SWAP_TOLERANCE = 1e-6;
/** The same id's similarity in both computations must agree within this (float32 rounding is ~1e-7). */
export const SIMILARITY_TOLERANCE = 1e-4;

export interface Comparison {
  /** Ranks where the ids differ within SWAP_TOLERANCE. */
  swaps: number;
  /** Largest |in-process − PostgreSQL| similarity of one id found by both. */
  maxSimilarityDelta: number;
  /** Why the two disagree, or null when they agree. */
  mismatch: string | null;
}

export function compareTopK(ours: readonly ScoredId[], sql: readonly ScoredId[]): Comparison {
  const describe = (s: ScoredId | undefined) => (s ? `${s.id} (similarity ${s.similarity.toFixed(8)})` : 'nothing');
  const sqlById = new Map(sql.map((s) => [s.id, s.similarity]));
  let swaps = 0;
  let maxSimilarityDelta = 0;
  let mismatch: string | null = null;
  for (const o of ours) {
    const theirs = sqlById.get(o.id);
    if (theirs !== undefined) maxSimilarityDelta = Math.max(maxSimilarityDelta, Math.abs(o.similarity - theirs));
  }
  if (ours.length !== sql.length) mismatch = `${ours.length} neighbours in process, ${sql.length} from PostgreSQL`;
  for (let rank = 0; rank < Math.max(ours.length, sql.length) && !mismatch; rank++) {
    const o = ours[rank];
    const s = sql[rank];
    if (o?.id === s?.id) continue;
    if (o && s && Math.abs(o.similarity - s.similarity) < SWAP_TOLERANCE) swaps++;
    else mismatch = `rank ${rank + 1} is ${describe(o)} in process but ${describe(s)} in PostgreSQL's exact scan`;
  }
  if (!mismatch && maxSimilarityDelta >= SIMILARITY_TOLERANCE) {
    mismatch = `similarities of the same rows differ by up to ${maxSimilarityDelta.toExponential(2)} between the two computations`;
  }
  return { swaps, maxSimilarityDelta, mismatch };
}
