import type pg from 'pg';
import { compareReports, DEFAULT_COMPARE_LIMITS, type ComparisonRow } from '../benchmark/compare.js';
import type { RunwayRecord } from '../benchmark/runway.js';
import { countLiveRows, saveRunwaySample } from '../benchmark/runway-store.js';
import { loadBenchmarkRun } from '../benchmark/store.js';
import type { ActivityDeps } from './deps.js';

export interface RecheckComparison {
  previous: { runId: string; name: string } | null;
  /** Flagged rows at the production ef_search and over HTTP: the figures the launch gate judges. */
  regressions: ComparisonRow[];
  flagged: boolean;
}

/**
 * The most recent earlier run on the same dataset shape and report schema, so nights are compared
 * like for like (a run from before a schema change measured other things and does not parse).
 */
async function previousRunId(pool: pg.Pool, runId: string): Promise<string | null> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT p.id FROM benchmark_runs p JOIN benchmark_runs c ON c.id = $1
      WHERE p.id <> c.id AND p.trace_count = c.trace_count AND p.dimensions = c.dimensions AND p.created_at < c.created_at
        AND p.figures->'schemaVersion' = c.figures->'schemaVersion'
      ORDER BY p.created_at DESC LIMIT 1`,
    [runId],
  );
  return rows[0]?.id ?? null;
}

export function createRecheckActivities({ pool }: ActivityDeps) {
  return {
    async compareWithPreviousRun(input: { runId: string; p99RegressionPct?: number; recallDrop?: number }): Promise<RecheckComparison> {
      const prevId = await previousRunId(pool, input.runId);
      if (!prevId) return { previous: null, regressions: [], flagged: false };
      const [previous, current] = await Promise.all([loadBenchmarkRun(pool, prevId), loadBenchmarkRun(pool, input.runId)]);
      const limits = {
        p99RegressionPct: input.p99RegressionPct ?? DEFAULT_COMPARE_LIMITS.p99RegressionPct,
        recallDrop: input.recallDrop ?? DEFAULT_COMPARE_LIMITS.recallDrop,
      };
      const ef = current.method.productionEfSearch;
      const judged = (metric: string) => metric.endsWith(`@ ef_search ${ef}`) || metric.startsWith('HTTP');
      const regressions = compareReports(previous, current, limits).regressions.filter((r) => judged(r.metric));
      return { previous: { runId: previous.runId, name: previous.name }, regressions, flagged: regressions.length > 0 };
    },

    /**
     * Stores the recheck's capacity runway figures in the live database (`bench report --runway` fits
     * them), next to production's size counted now in the live traces table.
     */
    async recordRunwaySample(record: RunwayRecord): Promise<{ liveRows: number }> {
      const liveRows = await countLiveRows(pool);
      await saveRunwaySample(pool, { ...record, liveRows });
      return { liveRows };
    },
  };
}
