/**
 * Removes capacity test data and nothing else: only rows of the capacity contributor are deleted,
 * in bounded transactions so a 100K cleanup never holds one huge lock or WAL burst. The contributor
 * is the system user (is_system) with CAPACITY_CONTRIBUTOR_EMAIL; a non-system row with that e-mail
 * is someone else's, and neither it nor its traces are ever counted or deleted as capacity data.
 */
import type pg from 'pg';
import { withTransaction } from '../db/client.js';
import { PGVECTOR_VERSION_SQL, vacuumBlocker } from '../db/pgvector-advisories.js';
import { capacityRowId } from './generator.js';
import { dropHnswIndex, hnswIndexState, type HnswIndexState } from './index-build.js';
import { DEFAULT_INDEX_TYPE, INDEX_TYPES } from '../db/hnsw.js';
import { CAPACITY_CONTRIBUTOR_EMAIL } from './population.js';

export interface TraceCounts {
  capacity: number;
  seeds: number;
  others: number;
}

/** Below this many remaining vectors, rebuilding the index is quicker than vacuuming 100K dead entries. */
export const REINDEX_MAX_REMAINING = 50_000;

export async function traceCounts(pool: pg.Pool | pg.PoolClient): Promise<TraceCounts> {
  const { rows } = await pool.query<TraceCounts>(
    `SELECT count(*) FILTER (WHERE u.is_system AND u.email = $1)::int AS capacity,
            count(*) FILTER (WHERE (u.is_system AND u.email = $1) IS NOT TRUE AND t.is_seed)::int AS seeds,
            count(*) FILTER (WHERE (u.is_system AND u.email = $1) IS NOT TRUE AND NOT t.is_seed)::int AS others
       FROM traces t LEFT JOIN users u ON u.id = t.contributor_id`,
    [CAPACITY_CONTRIBUTOR_EMAIL],
  );
  return rows[0]!;
}

export interface CleanupIndexPlan {
  /** Drop the HNSW index before the bulk delete (recreated afterwards). */
  drop: boolean;
  reason: string;
}

/**
 * Whether cleanup takes the HNSW index out of the way of its bulk delete. Deleted rows leave dead
 * index entries that (auto)vacuum removes from the graph; on pgvector < 0.8.4 HNSW vacuuming can
 * corrupt the index or fail, so the index is dropped first and rebuilt over the rows that remain.
 * On a fixed version it is dropped only when rebuilding is quicker than vacuuming.
 */
export function planCleanupIndex(o: { state: HnswIndexState; pgvectorVersion: string; capacityVectors: number; remainingVectors: number }): CleanupIndexPlan {
  if (o.state === 'missing') return { drop: false, reason: 'no HNSW index present; it is built after the delete' };
  if (o.state === 'invalid') return { drop: true, reason: 'the HNSW index is INVALID (a failed concurrent build): dropped, rebuilt after the delete' };
  if (o.capacityVectors === 0) return { drop: false, reason: 'no capacity vectors to delete' };
  const blocker = vacuumBlocker(o.pgvectorVersion);
  if (blocker) return { drop: true, reason: `${blocker}: dropped before deleting ${o.capacityVectors} vectors so no HNSW vacuum follows, rebuilt after` };
  if (o.remainingVectors <= REINDEX_MAX_REMAINING) {
    return { drop: true, reason: `${o.remainingVectors} vectors remain: rebuilding is quicker than vacuuming ${o.capacityVectors} dead entries` };
  }
  return { drop: false, reason: `pgvector ${o.pgvectorVersion} vacuums HNSW safely and ${o.remainingVectors} vectors remain: the index stays, vacuum removes the dead entries` };
}

export interface PreparedCleanupIndex extends CleanupIndexPlan {
  pgvectorVersion: string;
  dropped: boolean;
}

/** Reads the facts, plans, and drops the index (CONCURRENTLY: the table may serve searches meanwhile). */
export async function prepareCleanupIndex(pool: pg.Pool): Promise<PreparedCleanupIndex> {
  const { rows: versionRows } = await pool.query<{ extversion: string }>(PGVECTOR_VERSION_SQL);
  const pgvectorVersion = versionRows[0]?.extversion ?? '0';
  const { rows } = await pool.query<{ capacity: number; remaining: number }>(
    `SELECT count(*) FILTER (WHERE t.contributor_id IN (SELECT id FROM users WHERE is_system AND email = $1))::int AS capacity,
            count(*) FILTER (WHERE t.contributor_id NOT IN (SELECT id FROM users WHERE is_system AND email = $1))::int AS remaining
       FROM traces t WHERE t.embedding IS NOT NULL`,
    [CAPACITY_CONTRIBUTOR_EMAIL],
  );
  const plan = planCleanupIndex({
    state: await hnswIndexState(pool, DEFAULT_INDEX_TYPE), pgvectorVersion, capacityVectors: rows[0]!.capacity, remainingVectors: rows[0]!.remaining,
  });
  // An index of another type is a benchmark comparison's (searchBenchmark compareIndexTypes):
  // nothing rebuilds it after the delete, and it must not be maintained or vacuumed through it.
  for (const type of INDEX_TYPES) if (type !== DEFAULT_INDEX_TYPE) await dropHnswIndex(pool, type);
  const dropped = plan.drop ? await dropHnswIndex(pool, DEFAULT_INDEX_TYPE) : false;
  return { ...plan, pgvectorVersion, dropped };
}

export interface DeletionStep {
  /** Capacity rows deleted in this transaction. */
  rows: number;
  /** Ledger batches deleted with their rows. */
  ledgerBatches: number;
  /** Of those, batches whose rows were not all there (deleted behind the ledger's back). */
  incompleteBatches: number;
  /** Capacity rows with no ledger entry (older runs, orphans) deleted. */
  orphanRows: number;
}

/**
 * One bounded cleanup transaction. While the ledger has batches, it deletes whole batches (up to
 * `maxRows` rows, at least one batch): each batch's rows and its ledger row together, so a cleanup
 * stopped anywhere never leaves a ledger entry over missing rows. Once the ledger is empty, it
 * deletes up to `maxRows` capacity rows that no ledger entry claims.
 *
 * The ledger is locked against writers (SHARE ROW EXCLUSIVE conflicts with a population batch's
 * ledger INSERT), so no batch commits between this transaction's statements.
 */
export async function deleteCapacityStep(pool: pg.Pool, maxRows: number): Promise<DeletionStep> {
  return withTransaction(pool, async (client) => {
    await client.query('LOCK TABLE capacity_batches IN SHARE ROW EXCLUSIVE MODE');
    // A batch's rows are capacityRowId(run_key, g) over [batch_index × size, + rows), where size is
    // the run's full batch size: the largest `rows` of its batches. Batches go last first, so a run's
    // partial last batch is deleted while its full batches still give the size. (If only a partial
    // batch is left, the ids may miss its rows: they stay, unclaimed, for the orphan pass below.)
    const { rows: batches } = await client.query<{ run_key: string; batch_index: number; rows: number; size: number }>(
      `SELECT run_key, batch_index, rows, size FROM (
         SELECT run_key, batch_index, rows, max(rows) OVER (PARTITION BY run_key) AS size,
                sum(rows) OVER (ORDER BY run_key, batch_index DESC ROWS UNBOUNDED PRECEDING) AS upto
           FROM capacity_batches) b
        WHERE upto <= $1 OR upto = rows
        ORDER BY run_key, batch_index DESC`,
      [maxRows],
    );
    if (batches.length === 0) {
      // `id = ANY(ARRAY(...))` runs the LIMIT subquery once (an InitPlan) and probes the primary key.
      // `id IN (subquery)` lets the planner, when statistics still say "empty" right after a bulk load,
      // pick a semi join that re-runs the subquery for every row: O(n²), 90 s for 20K rows.
      const orphans = await client.query(
        `DELETE FROM traces WHERE id = ANY(ARRAY(
           SELECT t.id FROM traces t JOIN users u ON u.id = t.contributor_id
            WHERE u.is_system AND u.email = $1 LIMIT $2))`,
        [CAPACITY_CONTRIBUTOR_EMAIL, maxRows],
      );
      const n = orphans.rowCount ?? 0;
      return { rows: n, ledgerBatches: 0, incompleteBatches: 0, orphanRows: n };
    }
    let deleted = 0;
    let incomplete = 0;
    for (const b of batches) {
      const start = b.batch_index * b.size;
      const ids = Array.from({ length: b.rows }, (_, i) => capacityRowId(b.run_key, start + i));
      const result = await client.query(
        `DELETE FROM traces WHERE id = ANY($1::uuid[])
            AND contributor_id IN (SELECT id FROM users WHERE is_system AND email = $2)`,
        [ids, CAPACITY_CONTRIBUTOR_EMAIL],
      );
      const n = result.rowCount ?? 0;
      deleted += n;
      if (n < b.rows) incomplete++;
      await client.query('DELETE FROM capacity_batches WHERE run_key = $1 AND batch_index = $2', [b.run_key, b.batch_index]);
    }
    return { rows: deleted, ledgerBatches: batches.length, incompleteBatches: incomplete, orphanRows: 0 };
  });
}

/**
 * After the rows are gone: any ledger row left (none, unless a population ran alongside) and the
 * contributor itself, which is removed only once it has no traces (deleting it would cascade to them
 * in one unbounded transaction).
 */
export async function finishCapacityCleanup(pool: pg.Pool): Promise<{ ledgerRows: number; contributorRemoved: boolean }> {
  return withTransaction(pool, async (client) => {
    await client.query('LOCK TABLE capacity_batches IN SHARE ROW EXCLUSIVE MODE');
    const ledger = await client.query('DELETE FROM capacity_batches');
    const user = await client.query(
      `DELETE FROM users u WHERE u.is_system AND u.email = $1 AND NOT EXISTS (SELECT 1 FROM traces t WHERE t.contributor_id = u.id)`,
      [CAPACITY_CONTRIBUTOR_EMAIL],
    );
    return { ledgerRows: ledger.rowCount ?? 0, contributorRemoved: (user.rowCount ?? 0) > 0 };
  });
}
