import type { ActivityDeps } from './deps.js';
import { createPreflightActivities } from './preflight.js';
import { createSeedActivities } from './seeds.js';
import { createEmbeddingActivities } from './embeddings.js';
import { createSmokeActivities } from './smoke.js';
import { createCapacityActivities } from './capacity.js';
import { createBenchmarkActivities } from './benchmark.js';
import { createRateLimitActivities } from './rate-limit.js';
import { createRecheckActivities } from './recheck.js';

export type { ActivityDeps } from './deps.js';

/** All activities the worker registers, each concern built from the same injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPreflightActivities(deps),
    ...createSeedActivities(deps),
    ...createEmbeddingActivities(deps),
    ...createSmokeActivities(deps),
    ...createCapacityActivities(deps),
    ...createBenchmarkActivities(deps),
    ...createRateLimitActivities(deps),
    ...createRecheckActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
