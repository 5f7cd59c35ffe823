/**
 * Removes capacity test data and nothing else: only rows of the capacity contributor are deleted,
 * in bounded transactions so a 100K cleanup never holds one huge lock or WAL burst.
 */
import type pg from 'pg';
import { HNSW_CREATE_SQL, HNSW_INDEX_NAME } from '../db/hnsw.js';
import { CAPACITY_CONTRIBUTOR_EMAIL } from './population.js';

export interface TraceCounts {
  capacity: number;
  seeds: number;
  others: number;
}

/** Below this many remaining vectors, rebuilding the index is quicker than vacuuming 100K dead entries. */
const REINDEX_MAX_REMAINING = 50_000;

export async function traceCounts(pool: pg.Pool): Promise<TraceCounts> {
  const { rows } = await pool.query<TraceCounts>(
    `SELECT count(*) FILTER (WHERE u.email = $1)::int AS capacity,
            count(*) FILTER (WHERE u.email IS DISTINCT FROM $1 AND t.is_seed)::int AS seeds,
            count(*) FILTER (WHERE u.email IS DISTINCT FROM $1 AND NOT t.is_seed)::int AS others
       FROM traces t LEFT JOIN users u ON u.id = t.contributor_id`,
    [CAPACITY_CONTRIBUTOR_EMAIL],
  );
  return rows[0]!;
}

export async function deleteCapacityRows(pool: pg.Pool, limit: number): Promise<number> {
  // `id = ANY(ARRAY(...))` runs the LIMIT subquery once (an InitPlan) and probes the primary key.
  // `id IN (subquery)` lets the planner, when statistics still say "empty" right after a bulk load,
  // pick a semi join that re-runs the subquery for every row: O(n²), 90 s for 20K rows.
  const result = await pool.query(
    `DELETE FROM traces WHERE id = ANY(ARRAY(
       SELECT t.id FROM traces t JOIN users u ON u.id = t.contributor_id
        WHERE u.email = $1 LIMIT $2))`,
    [CAPACITY_CONTRIBUTOR_EMAIL, limit],
  );
  return result.rowCount ?? 0;
}

/** After the rows are gone: the ledger (so a later run re-populates) and the contributor itself. */
export async function finishCapacityCleanup(pool: pg.Pool): Promise<{ ledgerRows: number; reindexed: boolean }> {
  const ledger = await pool.query('DELETE FROM capacity_batches');
  await pool.query('DELETE FROM users WHERE email = $1', [CAPACITY_CONTRIBUTOR_EMAIL]);
  const { rows } = await pool.query<{ present: boolean; remaining: number }>(
    `SELECT to_regclass($1) IS NOT NULL AS present, (SELECT count(*)::int FROM traces WHERE embedding IS NOT NULL) AS remaining`,
    [HNSW_INDEX_NAME],
  );
  const reindex = (rows[0]?.remaining ?? 0) <= REINDEX_MAX_REMAINING;
  if (reindex) {
    // A population that failed after dropping the index leaves it missing; put it back either way.
    if (rows[0]?.present) await pool.query(`REINDEX INDEX ${HNSW_INDEX_NAME}`);
    else await pool.query(HNSW_CREATE_SQL);
  }
  return { ledgerRows: ledger.rowCount ?? 0, reindexed: reindex };
}
