/**
 * The embedding backfill: claims rows that have no vector for the active model, embeds them and
 * writes the vectors back. Rows are claimed with FOR UPDATE SKIP LOCKED, so any number of workers
 * can run it at once and never embed the same row twice.
 */
import type pg from 'pg';
import { withTransaction } from '../db/client.js';
import { traceEmbeddingText, toVectorLiteral, type Embedder } from './embedder.js';

export type EmbeddingTarget = 'seeds' | 'all';

// A vector from another model is as unusable as none: switching provider re-embeds, never mixes.
const PENDING = '(embedding IS NULL OR embedding_model_id IS DISTINCT FROM $1)';
const targetFilter = (target: EmbeddingTarget) => (target === 'seeds' ? 'is_seed' : 'true');

export interface PendingCount {
  pending: number;
  total: number;
}

export async function countPending(pool: pg.Pool, modelId: string, target: EmbeddingTarget): Promise<PendingCount> {
  const { rows } = await pool.query<PendingCount>(
    `SELECT (count(*) FILTER (WHERE ${PENDING}))::int AS pending, count(*)::int AS total
       FROM traces WHERE ${targetFilter(target)}`,
    [modelId],
  );
  return rows[0]!;
}

/** Embeds up to `batchSize` pending rows in one transaction; returns how many it embedded. */
export async function embedNextBatch(pool: pg.Pool, embedder: Embedder, target: EmbeddingTarget, batchSize: number): Promise<number> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ id: string; title: string; context_text: string; solution_text: string; tags: string[] }>(
      `WITH claimed AS (
         SELECT id, title, context_text, solution_text FROM traces
          WHERE ${PENDING} AND ${targetFilter(target)}
          ORDER BY created_at, id
          LIMIT $2
          FOR UPDATE SKIP LOCKED
       )
       SELECT c.*, coalesce((SELECT array_agg(tg.name ORDER BY tg.name) FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id
                              WHERE tt.trace_id = c.id), '{}') AS tags
         FROM claimed c`,
      [embedder.modelId, batchSize],
    );
    if (rows.length === 0) return 0;
    const texts = rows.map((r) => traceEmbeddingText({ title: r.title, contextText: r.context_text, solutionText: r.solution_text, tags: r.tags }));
    const vectors = await embedder.embed(texts);
    await client.query(
      `UPDATE traces SET embedding = v.embedding::vector, embedding_model_id = $1, updated_at = now()
         FROM unnest($2::uuid[], $3::text[]) AS v(id, embedding)
        WHERE traces.id = v.id`,
      [embedder.modelId, rows.map((r) => r.id), vectors.map(toVectorLiteral)],
    );
    return rows.length;
  });
}
