/**
 * Workflow module for the launchReadiness logic tests: the real parent, and each stage as a fake
 * child workflow of the same name that returns, fails or waits as its input says. The parent passes
 * each stage `stageInputs[stage]` (LaunchReadinessInput), so a test scripts every child from the
 * parent's input.
 */
import { ApplicationFailure, sleep } from '@temporalio/workflow';

export { launchReadiness } from '../../src/workflows/launch-readiness.js';

export interface FakeStageInput {
  fake?: { result?: unknown; fail?: string; holdMs?: number };
}

async function fakeStage(input: FakeStageInput = {}): Promise<unknown> {
  const fake = input.fake ?? {};
  if (fake.holdMs) await sleep(fake.holdMs);
  if (fake.fail) throw ApplicationFailure.nonRetryable(fake.fail, 'FakeStageFailure');
  return fake.result;
}

export const preflight = fakeStage;
export const seedImport = fakeStage;
export const embeddingReadiness = fakeStage;
export const firstQuerySmoke = fakeStage;
export const capacityPopulation = fakeStage;
export const indexBuild = fakeStage;
export const searchBenchmark = fakeStage;
export const rateLimitValidation = fakeStage;
export const capacityCleanup = fakeStage;
