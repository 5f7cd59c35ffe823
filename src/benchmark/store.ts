/**
 * benchmark_runs: every run's full report (figures jsonb) plus the columns the nightly comparison
 * filters and sorts on. A run is stored under its name, so a retried store is an update, not a twin.
 */
import { readFile, stat } from 'node:fs/promises';
import type pg from 'pg';
import { parseReport, type BenchmarkReport } from '../report/schema.js';

export async function saveBenchmarkRun(pool: pg.Pool, r: BenchmarkReport): Promise<void> {
  const prod = r.serial.find((s) => s.efSearch === r.method.productionEfSearch);
  await pool.query(
    `INSERT INTO benchmark_runs (id, name, run_key, workflow_id, trace_count, dimensions, ef_search, p99_ms, recall_at_10, http_p99_ms, verdict, environment, figures)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (name) DO UPDATE SET
       p99_ms = EXCLUDED.p99_ms, recall_at_10 = EXCLUDED.recall_at_10, http_p99_ms = EXCLUDED.http_p99_ms,
       verdict = EXCLUDED.verdict, environment = EXCLUDED.environment, figures = EXCLUDED.figures`,
    [
      r.runId, r.name, r.dataset.runKey, r.workflowId, r.dataset.traceCount, r.dataset.dimensions, r.method.productionEfSearch,
      prod?.latency.p99 ?? null, prod?.recall.mean ?? null, r.http?.latency.p99 ?? null, r.verdict, JSON.stringify(r.environment), JSON.stringify(r),
    ],
  );
}

export class RunNotFoundError extends Error {
  constructor(ref: string) {
    super(`no benchmark run "${ref}": give a run name (its workflow id), its uuid, latest, previous, or a path to a report.json`);
    this.name = 'RunNotFoundError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

/** Finds a run by name, uuid, `latest`, `previous` (the one before latest), or a report.json path. */
export async function loadBenchmarkRun(pool: pg.Pool, ref: string): Promise<BenchmarkReport> {
  if (ref.endsWith('.json') && (await isFile(ref))) return parseReport(JSON.parse(await readFile(ref, 'utf8')), ref);
  let rows: { figures: unknown }[];
  if (ref === 'latest' || ref === 'previous') {
    ({ rows } = await pool.query('SELECT figures FROM benchmark_runs ORDER BY created_at DESC OFFSET $1 LIMIT 1', [ref === 'latest' ? 0 : 1]));
  } else if (UUID.test(ref)) {
    ({ rows } = await pool.query('SELECT figures FROM benchmark_runs WHERE id = $1', [ref]));
  } else {
    ({ rows } = await pool.query('SELECT figures FROM benchmark_runs WHERE name = $1', [ref]));
  }
  if (!rows[0]) throw new RunNotFoundError(ref);
  return parseReport(rows[0].figures, `benchmark run ${ref}`);
}
