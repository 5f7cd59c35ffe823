/** HNSW sizing facts shared by preflight, the index build and reports. */
import { HNSW_EF_CONSTRUCTION, HNSW_INDEX_NAME, HNSW_M } from './schema.js';

export { HNSW_INDEX_NAME, HNSW_M, HNSW_EF_CONSTRUCTION };

/** The same index the migration creates; built after bulk loads rather than maintained during them. */
export const HNSW_CREATE_SQL =
  `CREATE INDEX IF NOT EXISTS ${HNSW_INDEX_NAME} ON traces USING hnsw (embedding vector_cosine_ops) ` +
  `WITH (m = ${HNSW_M}, ef_construction = ${HNSW_EF_CONSTRUCTION})`;

/** HNSW candidate list size of the search path (hnsw.ef_search). */
export const DEFAULT_EF_SEARCH = 64;

/**
 * Connection options for a search connection: `-c` settings applied at connect time, so a search
 * needs no BEGIN / SET LOCAL / COMMIT around it. Iterative scans stay on because the search path
 * always filters (active model, not flagged, not rejected, optional tags): a filtered plain HNSW
 * scan could return fewer rows than asked for. The settings only affect HNSW index scans.
 */
export function searchSessionOptions(efSearch = DEFAULT_EF_SEARCH): string {
  return `-c hnsw.ef_search=${efSearch} -c hnsw.iterative_scan=relaxed_order`;
}

/** pgvector's guidance for an in-memory HNSW build: n × (8 + 4·dims) × 1.3 bytes. */
export function estimateHnswGraphBytes(n: number, dims: number): number {
  return Math.ceil(n * (8 + 4 * dims) * 1.3);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 10 || unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** A pg_settings row (setting × unit) in bytes. */
export const SETTING_BYTES_SQL = `(setting::bigint * CASE unit WHEN '8kB' THEN 8192 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 ELSE 1 END)`;
