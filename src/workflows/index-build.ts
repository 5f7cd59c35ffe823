import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { IndexBuildReport } from '../capacity/index-build.js';
import { formatBytes } from '../bytes.js';
import type { IndexType } from '../db/index-types.js';
import { CAPACITY_LIMITS, indexTypeInput, intInRange } from './capacity-input.js';
import { ProgressTracker } from './progress.js';
import { ReadinessAttributes } from './readiness-attributes.js';

/**
 * How long a build took, and the VACUUM before it when one ran: "111.49 s (after a 0.72 s VACUUM)".
 * Reports recorded before builds vacuumed have no vacuumSeconds at all.
 */
export function buildDuration(r: Pick<IndexBuildReport, 'buildSeconds' | 'vacuumSeconds'>): string {
  return `${r.buildSeconds} s${typeof r.vacuumSeconds === 'number' ? ` (after a ${r.vacuumSeconds} s VACUUM)` : ''}`;
}

export interface IndexBuildInput {
  /** vector (full precision) or halfvec (the expression index on embedding::halfvec(1536)); default DEFAULT_INDEX_TYPE. */
  indexType?: IndexType;
  maintenanceWorkMemCapMb?: number;
  /** Asked-for parallel maintenance workers; 0 regardless while pgvector has a parallel-build bug. */
  parallelWorkers?: number;
  prewarm?: boolean;
  /** Drop a valid index and build it again (refused under APP_ENV=production without allowProduction). */
  rebuild?: boolean;
  allowProduction?: boolean;
}

/** The HNSW build's activity options, for every workflow that builds the index: it takes long and heartbeats. */
export const BUILD_INDEX_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '3 hours',
  // The activity heartbeats every 5 s (pg_stat_progress_create_index); a dead worker is noticed in 15 s.
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '5 seconds', maximumAttempts: 3 },
};

const { buildIndex } = proxyActivities<Activities>(BUILD_INDEX_ACTIVITY);

/**
 * Builds (or verifies) the HNSW index and reports its size against shared_buffers. The build runs
 * CONCURRENTLY, and without parallel workers while pgvector has its parallel-build overflow (< 0.8.2).
 */
export async function indexBuild(input: IndexBuildInput = {}): Promise<IndexBuildReport> {
  const indexType = indexTypeInput('indexType', input.indexType);
  const settings = {
    ...(indexType && { indexType }),
    maintenanceWorkMemCapMb: intInRange('maintenanceWorkMemCapMb', input.maintenanceWorkMemCapMb ?? 2048, CAPACITY_LIMITS.maintenanceWorkMemCapMb),
    parallelWorkers: intInRange('parallelWorkers', input.parallelWorkers ?? 1, CAPACITY_LIMITS.parallelWorkers),
    prewarm: input.prewarm ?? true,
    rebuild: input.rebuild ?? false,
    ...(input.allowProduction && { allowProduction: true }),
  };
  const progress = new ProgressTracker('indexBuild', 1, 'index');
  new ReadinessAttributes().set('index', 0);
  const report = await buildIndex.executeWithOptions({ summary: `CREATE INDEX CONCURRENTLY … USING hnsw (${indexType ? `${indexType}, ` : ''}m=16, ef_construction=64)` }, [settings]);
  progress.advance(1);
  progress.publish('HNSW index build', [
    ['index', `${report.indexName} (${report.indexType})`],
    ['rows', String(report.rows)],
    ['built', report.built ? `yes, ${buildDuration(report)}` : 'already present'],
    ['parallel workers', report.parallelDisabledReason ? `${report.parallelWorkers} (${report.parallelDisabledReason})` : String(report.parallelWorkers)],
    ['index size / shared_buffers', `${formatBytes(report.indexBytes)} / ${formatBytes(report.sharedBuffersBytes)}`],
    ['planner uses index', report.usedByPlanner ? 'yes' : 'NO'],
    ['warnings', report.warnings.join('; ') || 'none'],
  ]);
  progress.finish(report.usedByPlanner ? 'succeeded' : 'failed');
  return report;
}
