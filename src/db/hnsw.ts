/** HNSW sizing facts shared by preflight, the index build and reports. */
import { HNSW_EF_CONSTRUCTION, HNSW_INDEX_NAME, HNSW_M } from './schema.js';

export { HNSW_INDEX_NAME, HNSW_M, HNSW_EF_CONSTRUCTION };

/** The same index the migration creates; built after bulk loads rather than maintained during them. */
export const HNSW_CREATE_SQL =
  `CREATE INDEX IF NOT EXISTS ${HNSW_INDEX_NAME} ON traces USING hnsw (embedding vector_cosine_ops) ` +
  `WITH (m = ${HNSW_M}, ef_construction = ${HNSW_EF_CONSTRUCTION})`;

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

/** pgvector's guidance for an in-memory HNSW build: n × (8 + 4·dims) × 1.3 bytes. */
export function estimateHnswGraphBytes(n: number, dims: number): number {
  return Math.ceil(n * (8 + 4 * dims) * 1.3);
}

/** A pg_settings row (setting × unit) in bytes. */
export const SETTING_BYTES_SQL = `(setting::bigint * CASE unit WHEN '8kB' THEN 8192 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 ELSE 1 END)`;
