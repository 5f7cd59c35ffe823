/**
 * Semantic search over traces: the one implementation behind the CLI, the smoke check and the API.
 *
 * 1. Embed the query with the active embedder.
 * 2. HNSW approximate top-100 (cosine) in a transaction with `SET LOCAL hnsw.ef_search = 64`;
 *    iterative index scans stay on because filters always apply (active model, not flagged, not
 *    rejected, optional tags), and a post-filtered plain scan could return fewer than k rows.
 * 3. Re-rank by  score = (1 - TRUST_WEIGHT) · similarity + TRUST_WEIGHT · trust_score,
 *    with similarity = 1 - cosine distance and trust_score in [0, 1]. A validated trace
 *    (trust 1.0) beats an unconfirmed one (trust 0) of equal similarity by TRUST_WEIGHT.
 */
import type pg from 'pg';
import { withTransaction } from '../db/client.js';
import { toVectorLiteral, type Embedder } from '../embeddings/embedder.js';

export const DEFAULT_EF_SEARCH = 64;
export const ANN_CANDIDATES = 100;
export const TRUST_WEIGHT = 0.1;
export const MAX_K = 50;

export interface SearchOptions {
  k?: number;
  tags?: string[];
  efSearch?: number;
}

export interface SearchHit {
  id: string;
  title: string;
  seedKey: string | null;
  similarity: number;
  trustScore: number;
  score: number;
  status: string;
  tags: string[];
}

export function rerankScore(similarity: number, trustScore: number): number {
  return (1 - TRUST_WEIGHT) * similarity + TRUST_WEIGHT * Math.min(1, Math.max(0, trustScore));
}

/**
 * The ANN statement of the search path. Benchmarks time this exact text (serially, concurrently and
 * through a raw client), so a change here changes what they measure.
 */
export const ANN_SQL = `SELECT t.id, t.title, t.seed_key, t.status, t.trust_score, 1 - (t.embedding <=> $1::vector) AS similarity
         FROM traces t
        WHERE t.embedding_model_id = $2
          AND NOT t.is_flagged
          AND t.status <> 'rejected'
          AND (cardinality($3::text[]) = 0 OR EXISTS (
                SELECT 1 FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id
                 WHERE tt.trace_id = t.id AND tg.name = ANY($3::text[])))
        ORDER BY t.embedding <=> $1::vector
        LIMIT $4`;

/** SET LOCAL takes no bind parameters; set_config(..., true) is the parameterized equivalent. */
export const ANN_SETTINGS_SQL = `SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)`;

export interface AnnRow {
  id: string; title: string; seed_key: string | null; similarity: number; trust_score: number; status: string;
}

/** ANN candidates nearest first; must run inside a transaction so the settings stay local to it. */
export async function annCandidates(
  client: pg.ClientBase,
  vectorLiteral: string,
  modelId: string,
  options: { efSearch: number; tags?: string[]; limit?: number },
): Promise<AnnRow[]> {
  await client.query(ANN_SETTINGS_SQL, [String(options.efSearch)]);
  const { rows } = await client.query<AnnRow>(ANN_SQL, [vectorLiteral, modelId, options.tags ?? [], options.limit ?? ANN_CANDIDATES]);
  return rows;
}

export async function searchByVector(pool: pg.Pool, vector: readonly number[], modelId: string, options: SearchOptions = {}): Promise<SearchHit[]> {
  const k = Math.min(options.k ?? 5, MAX_K);
  const efSearch = options.efSearch ?? DEFAULT_EF_SEARCH;
  const tags = options.tags ?? [];
  const rows = await withTransaction(pool, (client) => annCandidates(client, toVectorLiteral(vector), modelId, { efSearch, tags }));
  const top = rows
    .map((r) => ({ ...r, score: rerankScore(r.similarity, r.trust_score) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
  if (top.length === 0) return [];
  const tagRows = await pool.query<{ trace_id: string; tags: string[] }>(
    `SELECT tt.trace_id, array_agg(tg.name ORDER BY tg.name) AS tags
       FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id
      WHERE tt.trace_id = ANY($1::uuid[]) GROUP BY tt.trace_id`,
    [top.map((r) => r.id)],
  );
  const tagsById = new Map(tagRows.rows.map((r) => [r.trace_id, r.tags]));
  return top.map((r) => ({
    id: r.id,
    title: r.title,
    seedKey: r.seed_key,
    similarity: r.similarity,
    trustScore: r.trust_score,
    score: r.score,
    status: r.status,
    tags: tagsById.get(r.id) ?? [],
  }));
}

export async function searchTraces(pool: pg.Pool, embedder: Embedder, query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
  const [vector] = await embedder.embed([query]);
  // A text with nothing to embed (punctuation only) has no direction; cosine distance to it is NaN.
  if (!vector || vector.every((x) => x === 0)) return [];
  return searchByVector(pool, vector, embedder.modelId, options);
}
