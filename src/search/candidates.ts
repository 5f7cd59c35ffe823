/**
 * The trust re-ranking and how many ANN candidates it needs: pure arithmetic shared by the search
 * statement (src/search/search.ts), the benchmark's exact ground truth and the workflows that report
 * the counts. See search.ts for why these counts are safe (the re-rank bound).
 */
export const TRUST_WEIGHT = 0.1;
export const MAX_K = 50;
/**
 * Tags carried by at most this many rows are searched exactly (every tagged row's distance) instead
 * of through the HNSW index. The exact route costs ~8 µs a row (each vector a TOASTed 6 KiB read);
 * the HNSW route's recall and speed fall as the tag gets rarer. `npm run bench:filter-route` at 100K
 * rows (halfvec, ef_search 128, 200 queries, 2026-12-04 22:55): a tag on 1,038 rows took 10 ms p50 /
 * 15 ms p99 exact against 48 / 58 ms and recall@10 0.53 through HNSW; one on 9,955 rows 78 / 94 ms
 * exact against 16 / 42 ms and recall 0.90 through HNSW. At 4,000 rows the exact route costs about
 * what the HNSW route costs at 1% (~31 ms p50).
 */
export const EXACT_FILTER_MAX_ROWS = 4_000;
/** Most rows the widened fetch asks for, whatever k is. */
export const MAX_WIDE_CANDIDATES = 400;

/** Rows fetched first for a top-k: twice k (at least k + 10), never above ef_search, never below k + 1. */
export function firstCandidates(k: number, efSearch: number): number {
  return Math.max(k + 1, Math.min(Math.max(2 * k, k + 10), efSearch));
}

/** Rows fetched when the first fetch cannot certify the re-ranking. */
export function wideCandidates(k: number): number {
  return Math.min(MAX_WIDE_CANDIDATES, Math.max(8 * k, 100));
}

export function rerankScore(similarity: number, trustScore: number): number {
  return (1 - TRUST_WEIGHT) * similarity + TRUST_WEIGHT * Math.min(1, Math.max(0, trustScore));
}

/** Best score any row with at most `similarity` can reach (trust 1). */
export function scoreCeiling(similarity: number): number {
  return rerankScore(similarity, 1);
}

