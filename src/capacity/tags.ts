/**
 * The capacity rows' tags in PostgreSQL (tags / trace_tags), as capacity/generator assigns them:
 * written by each population batch in the transaction that writes its rows, and backfilled for
 * capacity data loaded before rows had tags. trace_tags rows reference their trace ON DELETE
 * CASCADE, so every path that deletes capacity rows (cleanup, a batch rewrite) takes their tags too.
 */
import type pg from 'pg';
import { batchTagAssignments, CAPACITY_TAGS, type CapacityTagName, type TagAssignment } from './generator.js';

type Queryable = pg.Pool | pg.PoolClient | pg.ClientBase;

/**
 * The capacity tags' ids, created when missing. Run outside a batch's transaction: an upsert that
 * locked the tag rows would serialize every concurrent batch on them (DO NOTHING locks nothing).
 */
export async function ensureCapacityTagIds(db: Queryable): Promise<Map<CapacityTagName, number>> {
  const names = CAPACITY_TAGS.map((t) => t.name);
  await db.query('INSERT INTO tags (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING', [names]);
  const { rows } = await db.query<{ id: number; name: CapacityTagName }>('SELECT id, name FROM tags WHERE name = ANY($1::text[])', [names]);
  if (rows.length !== names.length) throw new Error(`capacity tags missing after their insert: found ${rows.map((r) => r.name).join(', ') || 'none'}`);
  return new Map(rows.map((r) => [r.name, r.id]));
}

/** Pairs per statement: two array parameters of this many elements. */
const INSERT_CHUNK = 5_000;

/**
 * Inserts the assignments' trace_tags rows for the traces that exist (a missing row gets none);
 * rows already there are kept. Returns how many were inserted.
 */
export async function insertTagAssignments(db: Queryable, tagIds: ReadonlyMap<CapacityTagName, number>, assignments: readonly TagAssignment[]): Promise<number> {
  const pairs = assignments.flatMap((a) => a.tags.map((tag) => [a.id, tagIds.get(tag)!] as const));
  let inserted = 0;
  for (let i = 0; i < pairs.length; i += INSERT_CHUNK) {
    const chunk = pairs.slice(i, i + INSERT_CHUNK);
    const result = await db.query(
      `INSERT INTO trace_tags (trace_id, tag_id)
       SELECT p.trace_id, p.tag_id FROM unnest($1::uuid[], $2::int[]) AS p(trace_id, tag_id) JOIN traces t ON t.id = p.trace_id
       ON CONFLICT DO NOTHING`,
      [chunk.map(([id]) => id), chunk.map(([, tagId]) => tagId)],
    );
    inserted += result.rowCount ?? 0;
  }
  return inserted;
}

export interface TagBackfill {
  /** Ledger batches of the run whose tags were computed. */
  batches: number;
  /** trace_tags rows the run's ledger batches call for (rows missing from the table get none). */
  expected: number;
  /** Of those, rows that were missing and are now written (0 when the data already had its tags). */
  inserted: number;
}

/**
 * Gives a run's capacity rows the tags the generator assigns them, for data written before batches
 * wrote tags: per ledger batch, the same deterministic assignment a population batch writes
 * (batchTagAssignments), inserted where missing. Idempotent, and cheap: ~11% of the rows get a row.
 * A batch's range follows the ledger as cleanup reads it: size = the run's largest batch.
 */
export async function backfillCapacityTags(pool: pg.Pool, runKey: string, generatorSeed: number): Promise<TagBackfill> {
  const { rows: batches } = await pool.query<{ batch_index: number; rows: number; size: number }>(
    'SELECT batch_index, rows, max(rows) OVER () AS size FROM capacity_batches WHERE run_key = $1 ORDER BY batch_index',
    [runKey],
  );
  const assignments = batches.flatMap((b) =>
    batchTagAssignments({ runKey, generatorSeed, batchIndex: b.batch_index, start: b.batch_index * b.size, end: b.batch_index * b.size + b.rows }),
  );
  const tagIds = await ensureCapacityTagIds(pool);
  const inserted = await insertTagAssignments(pool, tagIds, assignments);
  return { batches: batches.length, expected: assignments.reduce((n, a) => n + a.tags.length, 0), inserted };
}
