/**
 * The data model's fixed numbers, apart from its drizzle table definitions (schema.ts), so code that
 * only needs a dimension or the index name does not load drizzle-orm (a second of CPU per process).
 */
export const EMBEDDING_DIMENSIONS = 1536;
export const HNSW_INDEX_NAME = 'ix_traces_embedding_hnsw';
export const HNSW_M = 16;
export const HNSW_EF_CONSTRUCTION = 64;
