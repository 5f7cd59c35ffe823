/**
 * capacity_runway_samples: one row per capacityRecheck in the live database, what `bench report
 * --runway` fits. Stored under the recheck's workflow id, so a retried store is an update.
 */
import type pg from 'pg';
import type { RunwayRecord, RunwaySample } from './runway.js';

/**
 * Production's size: the live traces with an embedding, counted in the table (not taken from a
 * ledger). The same rows the HNSW index covers, as the index build counts them in the capacity
 * dataset, so the capacity's bytes per row apply to it.
 */
export async function countLiveRows(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM traces WHERE embedding IS NOT NULL');
  return rows[0]!.n;
}

export async function saveRunwaySample(pool: pg.Pool, r: RunwayRecord & { liveRows: number }): Promise<void> {
  await pool.query(
    `INSERT INTO capacity_runway_samples (workflow_id, benchmark_run_id, measured_at, live_rows, capacity_rows, index_bytes, shared_buffers_bytes,
       estimated_graph_bytes, maintenance_work_mem_bytes, build_seconds, p99_ms, http_p99_ms, recall_at_10)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (workflow_id) DO UPDATE SET
       benchmark_run_id = EXCLUDED.benchmark_run_id, measured_at = EXCLUDED.measured_at, live_rows = EXCLUDED.live_rows,
       capacity_rows = EXCLUDED.capacity_rows, index_bytes = EXCLUDED.index_bytes, shared_buffers_bytes = EXCLUDED.shared_buffers_bytes,
       estimated_graph_bytes = EXCLUDED.estimated_graph_bytes, maintenance_work_mem_bytes = EXCLUDED.maintenance_work_mem_bytes,
       build_seconds = EXCLUDED.build_seconds, p99_ms = EXCLUDED.p99_ms, http_p99_ms = EXCLUDED.http_p99_ms, recall_at_10 = EXCLUDED.recall_at_10`,
    [
      r.workflowId, r.benchmarkRunId, r.measuredAt, r.liveRows, r.capacityRows, r.indexBytes, r.sharedBuffersBytes,
      r.estimatedGraphBytes, r.maintenanceWorkMemBytes, r.buildSeconds, r.p99Ms, r.httpP99Ms, r.recallAt10,
    ],
  );
}

/** Every stored sample, oldest first (bigint columns come back as numbers: sizes stay far below 2^53). */
export async function loadRunwaySamples(pool: pg.Pool): Promise<RunwaySample[]> {
  const { rows } = await pool.query<Omit<RunwaySample, 'measuredAt'> & { measuredAt: Date }>(
    `SELECT measured_at AS "measuredAt", live_rows AS "liveRows", capacity_rows AS "capacityRows", index_bytes::float8 AS "indexBytes",
            shared_buffers_bytes::float8 AS "sharedBuffersBytes", estimated_graph_bytes::float8 AS "estimatedGraphBytes",
            maintenance_work_mem_bytes::float8 AS "maintenanceWorkMemBytes", build_seconds AS "buildSeconds",
            p99_ms AS "p99Ms", http_p99_ms AS "httpP99Ms", recall_at_10 AS "recallAt10"
       FROM capacity_runway_samples ORDER BY measured_at`,
  );
  return rows.map((r) => ({ ...r, measuredAt: r.measuredAt.toISOString() }));
}
