/**
 * The HNSW index types the search path can run on. Pure (no I/O, no imports): the config module,
 * the CLI parsers and deterministic workflow code all read it.
 *
 * - `vector`: the index on the float32 column itself (4 bytes per dimension).
 * - `halfvec`: an expression index on `embedding::halfvec(1536)` (2 bytes per dimension); searches
 *   take its candidates in half precision and re-rank them with the full-precision distance.
 */
export const INDEX_TYPES = ['vector', 'halfvec'] as const;
export type IndexType = (typeof INDEX_TYPES)[number];

export function isIndexType(value: unknown): value is IndexType {
  return typeof value === 'string' && (INDEX_TYPES as readonly string[]).includes(value);
}
