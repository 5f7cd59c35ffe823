/** HNSW facts shared by preflight, the index build, the search path and reports, per index type. */
import { EMBEDDING_DIMENSIONS, HNSW_EF_CONSTRUCTION, HNSW_INDEX_NAME, HNSW_M } from './constants.js';
import { INDEX_TYPES, isIndexType, type IndexType } from './index-types.js';

export { HNSW_INDEX_NAME, HNSW_M, HNSW_EF_CONSTRUCTION, INDEX_TYPES, isIndexType, type IndexType };

/**
 * The index type launches, capacity index builds and benchmarks use when not told otherwise.
 * `npm run bench:search -- --total 100000 --index-type vector,halfvec` (100,330 rows, one run, the
 * same data and settings): halfvec 392 MiB vs 784 MiB (−50%), build 167 s vs 189 s, p99 37.7 vs
 * 44.3 ms, recall@10 0.994 vs 0.995 and re-rank recall 0.994 for both. Half the index fits twice
 * the rows in shared_buffers at the same recall. The live table keeps the migration's `vector`
 * index until an index build replaces it; the search path reads whichever is there.
 */
export const DEFAULT_INDEX_TYPE: IndexType = 'halfvec';

/** The half-precision expression index; it may exist beside the migration's full-precision one. */
export const HALFVEC_INDEX_NAME = 'ix_traces_embedding_hnsw_halfvec';

const HALFVEC = `halfvec(${EMBEDDING_DIMENSIONS})`;

export function hnswIndexName(type: IndexType): string {
  return type === 'halfvec' ? HALFVEC_INDEX_NAME : HNSW_INDEX_NAME;
}

/**
 * The distance the index of `type` orders by, between `column` and the vector parameter `param`
 * (sent as `vector`, pgvector's binary form). It must repeat the index expression exactly, or the
 * planner cannot use the index and scans the table.
 */
export function annDistance(type: IndexType, column: string, param: string): string {
  return type === 'halfvec' ? `${column}::${HALFVEC} <=> ${param}::vector::${HALFVEC}` : `${column} <=> ${param}::vector`;
}

/** The index of `type`, as the migration creates the `vector` one; built after bulk loads rather than maintained during them. */
export function hnswCreateSql(type: IndexType): string {
  const keyed = type === 'halfvec' ? `((embedding::${HALFVEC}) halfvec_cosine_ops)` : '(embedding vector_cosine_ops)';
  return `CREATE INDEX IF NOT EXISTS ${hnswIndexName(type)} ON traces USING hnsw ${keyed} WITH (m = ${HNSW_M}, ef_construction = ${HNSW_EF_CONSTRUCTION})`;
}

/** The migration's index. */
export const HNSW_CREATE_SQL = hnswCreateSql('vector');

/** The type of an HNSW index on traces from its pg_indexes.indexdef (by operator class), or null for anything else. */
export function indexTypeOfDefinition(indexdef: string): IndexType | null {
  if (!/ USING hnsw /i.test(indexdef)) return null;
  if (/\bhalfvec_cosine_ops\b/.test(indexdef)) return 'halfvec';
  if (/\bvector_cosine_ops\b/.test(indexdef)) return 'vector';
  return null;
}

/**
 * How far a half-precision cosine distance can be from the full-precision one, for unit vectors
 * (the embedders and the capacity generator normalize): rounding to float16 moves each vector by at
 * most 2^-11 of its length (normal range; subnormal components add < 1.2e-6 over 1536 dimensions),
 * so the angle between query and row changes by at most 2 · 4.9e-4 and the cosine distance (slope
 * sin θ ≤ 1) by at most 9.8e-4; float32 accumulation over 1536 products in the two distance
 * computations adds at most ~6e-4. The search statement's re-rank bound widens by this much when its
 * candidates come in half-precision order (src/search/search.ts).
 */
export const HALFVEC_DISTANCE_SLACK = 0.002;

/**
 * HNSW candidate list size of the search path (hnsw.ef_search). Chosen from the benchmark at 100K
 * (1,000 clusters): re-rank recall 0.959 at 64, 0.991 at 100, 0.994 at 128, 0.995 at 160, for
 * +0.4 ms (100) and +1.7 ms (128) at p50 over 64. 128 keeps re-rank recall ≥ 0.99 with margin.
 */
export const DEFAULT_EF_SEARCH = 128;

/**
 * Connection options for a search connection: `-c` settings applied at connect time, so a search
 * needs no BEGIN / SET LOCAL / COMMIT around it. Iterative scans stay on because the search path
 * always filters (active model, not flagged, not rejected, optional tags): a filtered plain HNSW
 * scan could return fewer rows than asked for. The settings only affect HNSW index scans.
 */
export function searchSessionOptions(efSearch = DEFAULT_EF_SEARCH): string {
  return `-c hnsw.ef_search=${efSearch} -c hnsw.iterative_scan=relaxed_order`;
}

/**
 * The search settings plus generic plans, for connections that serve searches (the API's pool and
 * the benchmark's search clients). The search statement's custom plan costs ~0.5 ms of planning per
 * search, and PostgreSQL never switches to the generic plan on its own because the generic plan's
 * parameterised LIMITs look expensive to it; the generic plan is the same index scan. Not for the
 * worker's pool, whose batch statements (cleanup's LIMIT subquery) want custom plans.
 */
export function servingSessionOptions(efSearch = DEFAULT_EF_SEARCH): string {
  return `${searchSessionOptions(efSearch)} -c plan_cache_mode=force_generic_plan`;
}

/** Bytes one dimension takes in the index: float32 for vector, float16 for halfvec. */
export function bytesPerDimension(type: IndexType): number {
  return type === 'halfvec' ? 2 : 4;
}

/** pgvector's guidance for an in-memory HNSW build: n × (8 + bytes per dimension · dims) × 1.3 bytes. */
export function estimateHnswGraphBytes(n: number, dims: number, type: IndexType = 'vector'): number {
  return Math.ceil(n * (8 + bytesPerDimension(type) * dims) * 1.3);
}

/** A pg_settings row (setting × unit) in bytes. */
export const SETTING_BYTES_SQL = `(setting::bigint * CASE unit WHEN '8kB' THEN 8192 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 ELSE 1 END)`;
