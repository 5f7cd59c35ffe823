import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { resolveProjectPath } from '../paths.js';
import { evaluateGoldenQueries, loadGoldenQueries, type RelevanceReport } from '../search/golden.js';
import type { ActivityDeps } from './deps.js';

export function createSmokeActivities({ pool, embedder }: ActivityDeps) {
  return {
    async runGoldenQueries(input: { goldenPath: string; seedPath: string }): Promise<RelevanceReport & { modelId: string }> {
      let queries;
      let seeds: { seed_key: string; cluster: string }[];
      try {
        queries = await loadGoldenQueries(resolveProjectPath(input.goldenPath));
        seeds = JSON.parse(await readFile(resolveProjectPath(input.seedPath), 'utf8')) as typeof seeds;
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`Cannot load the smoke-check fixtures: ${(err as Error).message}`, 'SmokeFixtureInvalid');
      }
      const clusterOf = new Map(seeds.map((s) => [s.seed_key, s.cluster]));
      return { modelId: embedder.modelId, ...(await evaluateGoldenQueries(pool, embedder, queries, clusterOf)) };
    },
  };
}
