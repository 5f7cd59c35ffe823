import type pg from 'pg';

/**
 * Replaces a trace's tags with `tags` (already normalized by src/tags.ts) inside the caller's
 * transaction. Tag rows are shared, so they are upserted, never deleted.
 */
export async function replaceTraceTags(client: pg.PoolClient, traceId: string, tags: readonly string[]): Promise<void> {
  await client.query('DELETE FROM trace_tags WHERE trace_id = $1', [traceId]);
  if (tags.length === 0) return;
  await client.query(
    `WITH upserted AS (
       INSERT INTO tags (name) SELECT unnest($2::text[])
       ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
       RETURNING id
     )
     INSERT INTO trace_tags (trace_id, tag_id) SELECT $1, id FROM upserted ON CONFLICT DO NOTHING`,
    [traceId, tags],
  );
}
