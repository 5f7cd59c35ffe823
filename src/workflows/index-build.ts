import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { IndexBuildReport } from '../capacity/index-build.js';
import type { IndexBuildInput } from './messages.js';
import { ProgressTracker } from './progress.js';
import { ReadinessAttributes } from './readiness-attributes.js';

const { buildIndex } = proxyActivities<Activities>({
  startToCloseTimeout: '3 hours',
  // The activity heartbeats pg_stat_progress_create_index; a dead worker is noticed in 30 s.
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', maximumAttempts: 3 },
});

/** Builds (or verifies) the HNSW index and reports its size against shared_buffers. */
export async function indexBuild(input: IndexBuildInput = {}): Promise<IndexBuildReport> {
  const progress = new ProgressTracker('indexBuild', 1, 'index');
  new ReadinessAttributes().set('index', 0);
  const report = await buildIndex.executeWithOptions({ summary: 'CREATE INDEX … USING hnsw (m=16, ef_construction=64)' }, [
    {
      maintenanceWorkMemCapMb: input.maintenanceWorkMemCapMb ?? 2048,
      parallelWorkers: input.parallelWorkers ?? 1,
      prewarm: input.prewarm ?? true,
      rebuild: input.rebuild ?? false,
    },
  ]);
  progress.advance(1);
  const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
  progress.publish('HNSW index build', [
    ['rows', String(report.rows)],
    ['built', report.built ? `yes, ${report.buildSeconds} s` : 'already present'],
    ['index size / shared_buffers', `${mb(report.indexBytes)} / ${mb(report.sharedBuffersBytes)}`],
    ['planner uses index', report.usedByPlanner ? 'yes' : 'NO'],
    ['warnings', report.warnings.join('; ') || 'none'],
  ]);
  progress.finish(report.usedByPlanner ? 'succeeded' : 'failed');
  return report;
}
