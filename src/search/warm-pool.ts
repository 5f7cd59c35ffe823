/**
 * Opens every connection of a serving pool and runs the search statement once on each before the
 * API takes traffic. A new PostgreSQL backend's first search costs ~0.1 s of CPU (fork, catalog
 * caches, preparing the statement); a pool that grows under load pays that for each connection at
 * the worst moment, and on a small host it stalls every search in flight (the first seconds of a
 * load at 60 req/s took p99 from ~30 ms to ~2 s). A warm, fixed-size pool pays it at startup.
 */
import type pg from 'pg';
import { EMBEDDING_DIMENSIONS } from '../db/constants.js';
import { encodeVector } from '../db/vector-binary.js';
import { DEFAULT_EF_SEARCH, type IndexType } from '../db/hnsw.js';
import { searchIndexType } from './index-type.js';
import { searchByEncodedVector } from './search.js';

/** A unit vector: a search for it ranks real rows like any other query, and needs no embedder call. */
const WARM_VECTOR = encodeVector(Array.from({ length: EMBEDDING_DIMENSIONS }, (_, i) => (i === 0 ? 1 : 0)));

export interface WarmPoolOptions {
  size: number;
  modelId: string;
  /** The index the API searches (default: the one the database has, read once for the pool). */
  indexType?: IndexType;
  efSearch?: number;
}

/** Checks out `size` connections at once and searches once on each (k = 1), then returns them to the pool. */
export async function warmSearchPool(pool: pg.Pool, { size, modelId, indexType, efSearch = DEFAULT_EF_SEARCH }: WarmPoolOptions): Promise<void> {
  const type = indexType ?? (await searchIndexType(pool));
  const settled = await Promise.allSettled(Array.from({ length: size }, () => pool.connect()));
  const clients = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    await Promise.all(clients.map((c) => searchByEncodedVector(c, WARM_VECTOR, { modelId, k: 1, efSearch, indexType: type })));
  } finally {
    for (const c of clients) c.release();
  }
}
