import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { ProgressTracker } from './progress.js';

export interface FirstQuerySmokeInput {
  goldenPath?: string;
  seedPath?: string;
  /** Launch criterion: hit@5 at or above this. */
  minHitAt5?: number;
}

export interface FirstQuerySmokeResult {
  passed: boolean;
  modelId: string;
  queries: number;
  hitAt1: number;
  hitAt5: number;
  mrr: number;
  minHitAt5: number;
  failures: { query: string; rank: number | null; top: string[]; expected: string[] }[];
}

const { runGoldenQueries } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5 },
});

/** Proves an agent's first query finds a relevant seed: hit@1, hit@5 and MRR over the golden set. */
export async function firstQuerySmoke(input: FirstQuerySmokeInput = {}): Promise<FirstQuerySmokeResult> {
  const minHitAt5 = input.minHitAt5 ?? 0.9;
  const progress = new ProgressTracker('firstQuerySmoke', 1, 'query sets');
  const report = await runGoldenQueries.executeWithOptions({ summary: 'golden queries through the search path' }, [
    { goldenPath: input.goldenPath ?? 'fixtures/golden_queries.json', seedPath: input.seedPath ?? 'fixtures/seed_traces.json' },
  ]);
  const passed = report.hitAt5 >= minHitAt5;
  progress.advance(1);
  progress.publish('First-query smoke', [
    ['queries', String(report.queries)],
    ['hit@1', report.hitAt1.toFixed(3)],
    ['hit@5', `${report.hitAt5.toFixed(3)} (needs ≥ ${minHitAt5})`],
    ['MRR', report.mrr.toFixed(3)],
    ['verdict', passed ? 'PASS' : 'FAIL'],
  ]);
  progress.finish(passed ? 'succeeded' : 'failed', passed ? undefined : `hit@5 ${report.hitAt5.toFixed(3)} < ${minHitAt5}`);
  return { passed, minHitAt5, ...report };
}
