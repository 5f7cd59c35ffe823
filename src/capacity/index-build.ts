/**
 * Builds the HNSW index after the bulk load (pgvector's advice: building once is far faster than
 * maintaining the graph row by row), sized from the graph-memory estimate and watched through
 * pg_stat_progress_create_index from a side connection.
 *
 * Every index DDL here is CONCURRENTLY: `traces` may be serving searches and contributions, and a
 * plain CREATE INDEX blocks its writes for the whole build (a plain DROP INDEX blocks reads too).
 * A failed concurrent build leaves an INVALID index behind; the next build drops it and starts over.
 * Neither statement may run inside a transaction block, so they run on an autocommit session.
 *
 * Before a build on a table with no HNSW index, the build VACUUMs it (vacuumBeforeBuild): a bulk load
 * leaves every row without hint bits or visibility-map bits and due for the insert-triggered
 * autovacuum, which would otherwise start on its own minutes later, throttled, in the middle of
 * whatever runs next (searchBenchmark's serial passes, a re-check's measurements). With no HNSW
 * index on the table, that VACUUM cannot reach pgvector's HNSW vacuum code (see pgvector-advisories).
 */
import type pg from 'pg';
import { checkOut } from '../db/client.js';
import { formatBytes } from '../bytes.js';
import {
  annDistance, estimateHnswGraphBytes, hnswCreateSql, hnswIndexName, HNSW_EF_CONSTRUCTION, HNSW_M, INDEX_TYPES, SETTING_BYTES_SQL, type IndexType,
} from '../db/hnsw.js';
import { parallelBuildBlocker, PGVECTOR_VERSION_SQL } from '../db/pgvector-advisories.js';
import { EMBEDDING_DIMENSIONS } from '../db/constants.js';

/** The index definition of `type`, built without blocking writes. */
export function hnswCreateConcurrentlySql(type: IndexType): string {
  const sql = hnswCreateSql(type);
  const concurrently = sql.replace(/^CREATE INDEX /, 'CREATE INDEX CONCURRENTLY ');
  if (concurrently === sql) throw new Error(`hnswCreateSql no longer starts with "CREATE INDEX ": ${sql}`);
  return concurrently;
}


export interface BuildProgress {
  phase: string;
  tuplesDone: number;
  tuplesTotal: number;
}

export interface IndexBuildOptions {
  /** Which index: the full-precision one, or the halfvec expression index. */
  indexType: IndexType;
  /** Upper bound for the session's maintenance_work_mem. */
  maintenanceWorkMemCapBytes: number;
  parallelWorkers: number;
  prewarm: boolean;
  /** Drop and rebuild even when a valid index exists. */
  rebuild: boolean;
  onProgress?: (p: BuildProgress) => void;
}

export interface IndexBuildReport {
  indexType: IndexType;
  indexName: string;
  built: boolean;
  rows: number;
  dimensions: number;
  m: number;
  efConstruction: number;
  estimatedGraphBytes: number;
  maintenanceWorkMemBytes: number;
  /** The cap the build raises maintenance_work_mem up to: a graph larger than this spills to disk. */
  maintenanceWorkMemCapBytes: number;
  buildSeconds: number;
  indexBytes: number;
  sharedBuffersBytes: number;
  fitsInSharedBuffers: boolean;
  usedByPlanner: boolean;
  prewarmed: boolean;
  /** The installed pgvector version. */
  pgvectorVersion: string;
  /** Parallel maintenance workers the build was allowed (max_parallel_maintenance_workers of its session). */
  parallelWorkers: number;
  /** Why parallel workers were turned off (a pgvector bug in parallel builds), or null. */
  parallelDisabledReason: string | null;
  /** Seconds the VACUUM before the build took, or null when it did not run (see vacuumBeforeBuild). */
  vacuumSeconds: number | null;
  /** What the build replaced: an INVALID index (a failed concurrent build) or a valid one (--rebuild). */
  replaced: 'invalid' | 'valid' | null;
  warnings: string[];
}

const SPILL_NOTICE = /hnsw graph no longer fits into maintenance_work_mem/i;

export type HnswIndexState = 'valid' | 'invalid' | 'missing';

export async function hnswIndexState(db: pg.Pool | pg.PoolClient, type: IndexType = 'vector'): Promise<HnswIndexState> {
  const { rows } = await db.query<{ valid: boolean }>(
    'SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)', [hnswIndexName(type)],
  );
  if (rows.length === 0) return 'missing';
  return rows[0]!.valid ? 'valid' : 'invalid';
}

/** Drops the index of `type` without blocking searches on `traces` (DROP INDEX CONCURRENTLY); false when there was none. */
export async function dropHnswIndex(db: pg.Pool | pg.PoolClient, type: IndexType = 'vector'): Promise<boolean> {
  const name = hnswIndexName(type);
  const { rows } = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [name]);
  if (!rows[0]?.present) return false;
  await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
  return true;
}

/** Drops the HNSW index of every type (bulk loads and deletes want none maintained); true when any was there. */
export async function dropHnswIndexes(db: pg.Pool | pg.PoolClient): Promise<boolean> {
  let dropped = false;
  for (const type of INDEX_TYPES) dropped = (await dropHnswIndex(db, type)) || dropped;
  return dropped;
}

export async function pgvectorVersion(db: pg.Pool | pg.PoolClient): Promise<string> {
  const { rows } = await db.query<{ extversion: string }>(PGVECTOR_VERSION_SQL);
  if (!rows[0]) throw new Error('the vector extension is not created in this database: run `npm run db:migrate`');
  return rows[0].extversion;
}

/** HNSW indexes on traces, of any type, valid or not. */
async function hnswIndexesOnTraces(db: pg.Pool | pg.PoolClient): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
      WHERE i.indrelid = to_regclass('traces') AND am.amname = 'hnsw'`,
  );
  return rows[0]!.n;
}

/**
 * VACUUM (ANALYZE) traces when no HNSW index is on it, and the seconds it took; null (skipped) when
 * one is, so this never vacuums an HNSW index. Runs outside a transaction block, like the builds.
 */
export async function vacuumBeforeBuild(client: pg.PoolClient, onStart: () => void = () => {}): Promise<number | null> {
  if ((await hnswIndexesOnTraces(client)) > 0) return null;
  onStart();
  const started = performance.now();
  await client.query('VACUUM (ANALYZE) traces');
  return (performance.now() - started) / 1000;
}

/** Whether a nearest-neighbour query written for the index of `type` reads that index. */
export async function planUsesHnsw(client: pg.PoolClient | pg.Pool, type: IndexType = 'vector'): Promise<boolean> {
  const probe = '(SELECT embedding FROM traces WHERE embedding IS NOT NULL LIMIT 1)';
  const { rows } = await client.query<{ plan: unknown }>(
    `EXPLAIN (FORMAT JSON) SELECT id FROM traces ORDER BY ${annDistance(type, 'embedding', probe)} LIMIT 10`,
  );
  return JSON.stringify(rows[0]?.plan ?? rows[0]).includes(`"Index Name":"${hnswIndexName(type)}"`);
}

async function settingBytes(client: pg.PoolClient, name: string): Promise<number> {
  const { rows } = await client.query<{ bytes: string }>(`SELECT ${SETTING_BYTES_SQL}::text AS bytes FROM pg_settings WHERE name = $1`, [name]);
  return Number(rows[0]?.bytes ?? 0);
}

export async function buildHnswIndex(pool: pg.Pool, options: IndexBuildOptions): Promise<IndexBuildReport> {
  const { client, done } = await checkOut(pool);
  const warnings: string[] = [];
  let poller: NodeJS.Timeout | undefined;
  try {
    const { rows: countRows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM traces WHERE embedding IS NOT NULL');
    const rows = countRows[0]!.n;
    const type = options.indexType;
    const indexName = hnswIndexName(type);
    const estimate = estimateHnswGraphBytes(rows, EMBEDDING_DIMENSIONS, type);
    const mwm = Math.min(options.maintenanceWorkMemCapBytes, Math.max(64 * 1024 * 1024, estimate));
    if (estimate > options.maintenanceWorkMemCapBytes) {
      warnings.push(
        `graph estimate ${formatBytes(estimate)} exceeds the maintenance_work_mem cap ${formatBytes(options.maintenanceWorkMemCapBytes)}: ` +
          'the build will spill to disk and take much longer (raise the cap)',
      );
    }

    const version = await pgvectorVersion(client);
    // CVE-2026-3172: parallel HNSW builds overflow a buffer before pgvector 0.8.2; build serially there.
    const parallelDisabledReason = options.parallelWorkers > 0 ? parallelBuildBlocker(version) : null;
    const parallelWorkers = parallelDisabledReason ? 0 : options.parallelWorkers;

    let state = await hnswIndexState(client, type);
    let replaced: IndexBuildReport['replaced'] = null;
    if (state === 'invalid' || (state === 'valid' && options.rebuild)) {
      // An invalid index is what an interrupted or failed concurrent build leaves behind; it is useless and must go.
      replaced = state;
      await dropHnswIndex(client, type);
      state = 'missing';
    }

    let buildSeconds = 0;
    let vacuumSeconds: number | null = null;
    const built = state === 'missing';
    if (built) {
      vacuumSeconds = await vacuumBeforeBuild(client, () => options.onProgress?.({ phase: 'vacuuming the table before the build', tuplesDone: 0, tuplesTotal: rows }));
      await client.query(`SELECT set_config('maintenance_work_mem', $1, false)`, [`${Math.floor(mwm / 1024)}kB`]);
      await client.query(`SELECT set_config('max_parallel_maintenance_workers', $1, false)`, [String(parallelWorkers)]);
      // If the worker dies mid-build, the server notices the dropped client and aborts the build.
      await client.query(`SELECT set_config('client_connection_check_interval', '5s', false)`);
      const onNotice = (n: { message?: string }) => {
        if (n.message && SPILL_NOTICE.test(n.message)) warnings.push(`PostgreSQL: ${n.message}`);
      };
      client.on('notice', onNotice);
      const { rows: pidRows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const buildPid = pidRows[0]!.pid;
      poller = setInterval(() => {
        pool
          .query<{ phase: string; tuples_done: string; tuples_total: string }>(
            'SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index WHERE pid = $1', [buildPid],
          )
          .then(({ rows: p }) => {
            if (p[0]) options.onProgress?.({ phase: p[0].phase, tuplesDone: Number(p[0].tuples_done), tuplesTotal: Number(p[0].tuples_total) });
          })
          .catch(() => undefined);
      }, 2_000);
      const started = performance.now();
      await client.query(hnswCreateConcurrentlySql(type));
      buildSeconds = (performance.now() - started) / 1000;
      client.off('notice', onNotice);
      // IF NOT EXISTS skips silently over an index that appeared meanwhile, which may be an INVALID
      // leftover of another session's failed build: fail this attempt, and the retry drops it.
      if ((await hnswIndexState(client, type)) !== 'valid') {
        throw new Error(`${indexName} is not valid after CREATE INDEX CONCURRENTLY; the next attempt drops and rebuilds it`);
      }
      await client.query('ANALYZE traces');
    }
    clearInterval(poller);

    const { rows: sizeRows } = await client.query<{ bytes: string }>('SELECT pg_relation_size(to_regclass($1))::text AS bytes', [indexName]);
    const indexBytes = Number(sizeRows[0]?.bytes ?? 0);
    const sharedBuffersBytes = await settingBytes(client, 'shared_buffers');
    const fits = indexBytes <= sharedBuffersBytes;
    if (!fits) {
      warnings.push(`index ${formatBytes(indexBytes)} does not fit in shared_buffers ${formatBytes(sharedBuffersBytes)}: searches will read it from disk`);
    }
    const usedByPlanner = await planUsesHnsw(client, type);
    if (!usedByPlanner) warnings.push(`the planner does not use ${indexName} for ORDER BY ${annDistance(type, 'embedding', '…')} LIMIT 10`);
    if (built && parallelDisabledReason) warnings.push(`built without parallel workers: ${parallelDisabledReason}`);

    let prewarmed = false;
    if (options.prewarm) {
      try {
        await client.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm');
        await client.query('SELECT pg_prewarm($1::regclass)', [indexName]);
        prewarmed = true;
      } catch (err) {
        warnings.push(`pg_prewarm unavailable: ${(err as Error).message}`);
      }
    }
    return {
      indexType: type,
      indexName,
      built,
      rows,
      dimensions: EMBEDDING_DIMENSIONS,
      m: HNSW_M,
      efConstruction: HNSW_EF_CONSTRUCTION,
      estimatedGraphBytes: estimate,
      maintenanceWorkMemBytes: mwm,
      maintenanceWorkMemCapBytes: options.maintenanceWorkMemCapBytes,
      buildSeconds: Math.round(buildSeconds * 100) / 100,
      indexBytes,
      sharedBuffersBytes,
      fitsInSharedBuffers: fits,
      usedByPlanner,
      prewarmed,
      pgvectorVersion: version,
      parallelWorkers,
      parallelDisabledReason,
      vacuumSeconds: vacuumSeconds === null ? null : Math.round(vacuumSeconds * 100) / 100,
      replaced,
      warnings,
    };
  } finally {
    clearInterval(poller);
    // The session carries build-only settings (maintenance_work_mem, …); do not hand them to the next pool user.
    done(true);
  }
}
