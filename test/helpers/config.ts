/**
 * The test run's configuration, without Temporal's worker: what every test file needs (the config,
 * unique names, the test namespace, throwaway databases), cheap to import. env.ts adds the worker
 * and client helpers for the files that run workflows.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config.js';

export { adminUrl, dropDatabase } from './admin-database.js';

/**
 * Test workflows and schedules live in their own namespace (scripts/test.sh creates it), so the Web
 * UI's `default` shows only what operators started. Set here too, so a single test file run by hand
 * and the CLI processes tests spawn use it as well.
 */
export const TEST_NAMESPACE = 'commontrace-test';
process.env.TEMPORAL_NAMESPACE ||= TEST_NAMESPACE;

export const baseConfig: Config = loadConfig();

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A config on its own task queue, optionally with other overrides. */
export function testConfig(overrides: { taskQueue?: string } & Partial<Omit<Config, 'temporal'>> = {}): Config {
  const { taskQueue, ...rest } = overrides;
  return {
    ...baseConfig,
    ...rest,
    temporal: { ...baseConfig.temporal, taskQueue: taskQueue ?? uniqueName('test') },
  };
}
