import type { ActivityDeps } from './deps.js';
import { createPreflightActivities } from './preflight.js';

export type { ActivityDeps } from './deps.js';

/** All activities the worker registers, each concern built from the same injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPreflightActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
