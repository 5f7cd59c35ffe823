import { proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { IndexType } from '../db/index-types.js';
import { ProgressTracker } from './progress.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  value: string;
  detail: string;
}

export interface PreflightInput {
  /** The capacity the launch must hold; sizes the memory checks. */
  targetTraces?: number;
  dimensions?: number;
  /** The index type the launch builds: halfvec takes 2 bytes per dimension instead of 4. Default DEFAULT_INDEX_TYPE. */
  indexType?: IndexType;
}

export interface PreflightReport {
  ok: boolean;
  checks: CheckResult[];
  counts: Record<CheckStatus, number>;
}

const { checkPostgres, checkRedis, checkEmbedder } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

/** Checks every service the launch depends on and reports pass / warn / fail for each. */
export async function preflight(input: PreflightInput = {}): Promise<PreflightReport> {
  const progress = new ProgressTracker('preflight', 3, 'probes');
  const probe = async <T>(run: () => Promise<T>): Promise<T> => {
    const result = await run();
    progress.advance(1);
    return result;
  };
  const [postgres, redis, embedder] = await Promise.all([
    probe(() => checkPostgres.executeWithOptions({ summary: 'PostgreSQL, pgvector and memory settings' }, [input])),
    probe(() => checkRedis.executeWithOptions({ summary: 'Redis reachability and version' }, [])),
    probe(() => checkEmbedder.executeWithOptions({ summary: 'embedding provider' }, [])),
  ]);
  const info = workflowInfo();
  const temporal: CheckResult = {
    name: 'temporal',
    status: 'pass',
    value: info.namespace,
    detail: `namespace reachable; task queue ${info.taskQueue}`,
  };
  const checks = [...postgres, redis, embedder, temporal];
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0 };
  for (const c of checks) counts[c.status]++;

  progress.finish(counts.fail > 0 ? 'failed' : 'succeeded');
  setCurrentDetails(checksTable(checks));
  return { ok: counts.fail === 0, checks, counts };
}

export function checksTable(checks: CheckResult[]): string {
  const rows = checks.map((c) => `| ${c.name} | ${c.status.toUpperCase()} | ${c.value} | ${c.detail.replace(/\|/g, '\\|')} |`);
  return ['| check | status | value | detail |', '|---|---|---|---|', ...rows].join('\n');
}
