// The worker bundles this file; every workflow type the task queue serves is exported here.
export { preflight } from './preflight.js';
export { seedImport } from './seed-import.js';
export { embeddingReadiness } from './embedding-readiness.js';
export { firstQuerySmoke } from './first-query-smoke.js';
export { capacityPopulation } from './capacity-population.js';
export { indexBuild } from './index-build.js';
export { capacityCleanup } from './capacity-cleanup.js';
export { launchReadiness } from './launch-readiness.js';
export { searchBenchmark } from './search-benchmark.js';
export { rateLimitValidation } from './rate-limit-validation.js';
export { capacityRecheck } from './capacity-recheck.js';
