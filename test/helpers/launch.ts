export { freePort } from './api.js';
import type { LaunchReadinessInput } from '../../src/workflows/launch-readiness.js';
import { RATE_LIMIT_VALIDATION_FAST } from '../../src/workflows/rate-limit-validation.js';

/**
 * Fast mode with 5 users at once instead of 10: on a test run sharing its 2 cores with two other
 * files, 10 users' 750 simultaneous searches took 16 s to admit, long enough for refill to cover
 * every extra request, and check 7 rightly called itself inconclusive.
 */
export const TEST_RATE_LIMIT_VALIDATION = { ...RATE_LIMIT_VALIDATION_FAST, manyUsers: 5 };

/** Small and quick: the same stages and checks as a real launch, with less data and shorter waits. */
export const SMALL_LAUNCH: LaunchReadinessInput = {
  traces: 3_000,
  // Behaviour, not speed, is under test: generous latency limits keep a busy CI box from flaking.
  thresholds: { sqlP99Ms: 1_000, httpP99Ms: 5_000 },
  stageInputs: {
    searchBenchmark: {
      queryCount: 200, efSearch: [40, 64], concurrency: [1, 2], concurrencySeconds: 0.5, warmupQueries: 20,
      // Two alternating rounds still compare search with the raw floor in both orders; half a
      // second of closed loop is hundreds of searches here, enough to test the phases' mechanics.
      rawFloorRounds: 2, rawFloorRoundSeconds: 0.5,
      http: { users: 4, seconds: 3, ratePerUser: 2, warmupSeconds: 1 },
    },
    rateLimitValidation: TEST_RATE_LIMIT_VALIDATION,
  },
};
