/**
 * The trust re-ranking and how many ANN candidates it needs: pure arithmetic shared by the search
 * statement (src/search/search.ts), the benchmark's exact ground truth and the workflows that report
 * the counts. See search.ts for why these counts are safe (the re-rank bound).
 */
export const TRUST_WEIGHT = 0.1;
export const MAX_K = 50;
/**
 * Tags carried by at most this many rows are searched exactly (every tagged row's distance) instead
 * of through the HNSW index. The exact route costs ~32 µs a row (each vector is a TOASTed 6 KiB
 * read); the HNSW route's recall and speed fall as the tag gets rarer. `npm run bench:filter-route`
 * at 100K rows (halfvec, ef_search 128, 200 queries, 2026-12-04, a host whose raw pgvector floor
 * served 162 QPS at 2 clients): a tag on 1,038 rows took 35 ms p50 / 47 ms p99 exact against 70 / 82
 * ms and recall@10 0.53 through HNSW; one on 9,955 rows 320 / 444 ms exact against 22 / 66 ms and
 * recall 0.90 through HNSW. 2,000 rows keeps the exact route near the HNSW route's cost at 1%.
 */
export const EXACT_FILTER_MAX_ROWS = 2_000;
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

