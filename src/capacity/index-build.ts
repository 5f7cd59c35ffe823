/**
 * Builds the HNSW index after the bulk load (pgvector's advice: building once is far faster than
 * maintaining the graph row by row), sized from the graph-memory estimate and watched through
 * pg_stat_progress_create_index from a side connection.
 */
import type pg from 'pg';
import { checkOut } from '../db/client.js';
import { estimateHnswGraphBytes, formatBytes, HNSW_CREATE_SQL, HNSW_EF_CONSTRUCTION, HNSW_INDEX_NAME, HNSW_M, SETTING_BYTES_SQL } from '../db/hnsw.js';
import { EMBEDDING_DIMENSIONS } from '../db/schema.js';

export interface BuildProgress {
  phase: string;
  tuplesDone: number;
  tuplesTotal: number;
}

export interface IndexBuildOptions {
  /** Upper bound for the session's maintenance_work_mem. */
  maintenanceWorkMemCapBytes: number;
  parallelWorkers: number;
  prewarm: boolean;
  /** Drop and rebuild even when a valid index exists. */
  rebuild: boolean;
  onProgress?: (p: BuildProgress) => void;
}

export interface IndexBuildReport {
  built: boolean;
  rows: number;
  dimensions: number;
  m: number;
  efConstruction: number;
  estimatedGraphBytes: number;
  maintenanceWorkMemBytes: number;
  buildSeconds: number;
  indexBytes: number;
  sharedBuffersBytes: number;
  fitsInSharedBuffers: boolean;
  usedByPlanner: boolean;
  prewarmed: boolean;
  warnings: string[];
}

const SPILL_NOTICE = /hnsw graph no longer fits into maintenance_work_mem/i;

async function indexState(client: pg.PoolClient): Promise<'valid' | 'invalid' | 'missing'> {
  const { rows } = await client.query<{ valid: boolean }>(
    'SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)', [HNSW_INDEX_NAME],
  );
  if (rows.length === 0) return 'missing';
  return rows[0]!.valid ? 'valid' : 'invalid';
}

export async function dropHnswIndex(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [HNSW_INDEX_NAME]);
  if (!rows[0]?.present) return false;
  await pool.query(`DROP INDEX IF EXISTS ${HNSW_INDEX_NAME}`);
  return true;
}

export async function planUsesHnsw(client: pg.PoolClient | pg.Pool): Promise<boolean> {
  const { rows } = await client.query<{ plan: unknown }>(
    `EXPLAIN (FORMAT JSON) SELECT id FROM traces
      ORDER BY embedding <=> (SELECT embedding FROM traces WHERE embedding IS NOT NULL LIMIT 1) LIMIT 10`,
  );
  return JSON.stringify(rows[0]?.plan ?? rows[0]).includes(`"Index Name":"${HNSW_INDEX_NAME}"`);
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
    const estimate = estimateHnswGraphBytes(rows, EMBEDDING_DIMENSIONS);
    const mwm = Math.min(options.maintenanceWorkMemCapBytes, Math.max(64 * 1024 * 1024, estimate));
    if (estimate > options.maintenanceWorkMemCapBytes) {
      warnings.push(
        `graph estimate ${formatBytes(estimate)} exceeds the maintenance_work_mem cap ${formatBytes(options.maintenanceWorkMemCapBytes)}: ` +
          'the build will spill to disk and take much longer (raise the cap)',
      );
    }

    let state = await indexState(client);
    if (state === 'invalid' || (state === 'valid' && options.rebuild)) {
      // An invalid index is what an interrupted build leaves behind; it is useless and must go.
      await client.query(`DROP INDEX IF EXISTS ${HNSW_INDEX_NAME}`);
      state = 'missing';
    }

    let buildSeconds = 0;
    const built = state === 'missing';
    if (built) {
      await client.query(`SELECT set_config('maintenance_work_mem', $1, false)`, [`${Math.floor(mwm / 1024)}kB`]);
      await client.query(`SELECT set_config('max_parallel_maintenance_workers', $1, false)`, [String(options.parallelWorkers)]);
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
      await client.query(HNSW_CREATE_SQL);
      buildSeconds = (performance.now() - started) / 1000;
      client.off('notice', onNotice);
      await client.query('ANALYZE traces');
    }
    clearInterval(poller);

    const { rows: sizeRows } = await client.query<{ bytes: string }>('SELECT pg_relation_size(to_regclass($1))::text AS bytes', [HNSW_INDEX_NAME]);
    const indexBytes = Number(sizeRows[0]?.bytes ?? 0);
    const sharedBuffersBytes = await settingBytes(client, 'shared_buffers');
    const fits = indexBytes <= sharedBuffersBytes;
    if (!fits) {
      warnings.push(`index ${formatBytes(indexBytes)} does not fit in shared_buffers ${formatBytes(sharedBuffersBytes)}: searches will read it from disk`);
    }
    const usedByPlanner = await planUsesHnsw(client);
    if (!usedByPlanner) warnings.push(`the planner does not use ${HNSW_INDEX_NAME} for ORDER BY embedding <=> … LIMIT 10`);

    let prewarmed = false;
    if (options.prewarm) {
      try {
        await client.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm');
        await client.query('SELECT pg_prewarm($1::regclass)', [HNSW_INDEX_NAME]);
        prewarmed = true;
      } catch (err) {
        warnings.push(`pg_prewarm unavailable: ${(err as Error).message}`);
      }
    }
    return {
      built,
      rows,
      dimensions: EMBEDDING_DIMENSIONS,
      m: HNSW_M,
      efConstruction: HNSW_EF_CONSTRUCTION,
      estimatedGraphBytes: estimate,
      maintenanceWorkMemBytes: mwm,
      buildSeconds: Math.round(buildSeconds * 100) / 100,
      indexBytes,
      sharedBuffersBytes,
      fitsInSharedBuffers: fits,
      usedByPlanner,
      prewarmed,
      warnings,
    };
  } finally {
    clearInterval(poller);
    // The session carries build-only settings (maintenance_work_mem, …); do not hand them to the next pool user.
    done(true);
  }
}
