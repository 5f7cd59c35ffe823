/**
 * capacityRecheck's own logic without the stack: a local Temporal test server runs the real
 * workflow over fake children (fake-recheck.ts) and mocked activities, with the benchmark result of a
 * real 100K launch (test/fixtures/launch-results.json).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { RunwayRecord } from '../../src/benchmark/runway.js';
import { capacityRecheck, type CapacityRecheckInput } from '../../src/workflows/capacity-recheck.js';
import { readinessPctKey, readinessStageKey } from '../../src/workflows/messages.js';
import { REPO_ROOT } from '../helpers/cli.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

const FAKES = fileURLToPath(new URL('./fake-recheck.ts', import.meta.url));
const TASK_QUEUE = 'unit-capacity-recheck';
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let benchmarkResult: { runId: string };
const stored: RunwayRecord[] = [];

before(async () => {
  const recorded = JSON.parse(await readFile(path.join(REPO_ROOT, 'test/fixtures/launch-results.json'), 'utf8')) as { results: { searchBenchmark: { runId: string } } };
  benchmarkResult = recorded.results.searchBenchmark;
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: path.join(REPO_ROOT, '.tools/bin/temporal') },
      searchAttributes: [readinessStageKey, readinessPctKey],
    },
  });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowsPath: FAKES,
    activities: {
      capacityLedger: async (input: { total: number }) => ({ batches: input.total / 1_000, rows: input.total, rowsPresent: input.total }),
      compareWithPreviousRun: async () => ({ previous: null, regressions: [], flagged: false }),
      recordRunwaySample: async (record: RunwayRecord) => {
        stored.push(record);
        return { liveRows: 1_234 };
      },
    },
  });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

test('a recheck stores its runway figures, taken from the index build and the benchmark at the production ef_search', async () => {
  const input = { traces: 100_000, benchmark: { fake: { result: benchmarkResult } } } as CapacityRecheckInput;
  const result = await env.client.workflow.execute(capacityRecheck, { taskQueue: TASK_QUEUE, workflowId: 'unit-recheck-1', args: [input] });
  assert.equal(result.reusedCapacity, true);
  assert.equal(result.benchmark.runId, benchmarkResult.runId);
  // The index figures are fake-recheck.ts's; the benchmark's are the fixture's serial pass at ef_search 128 and its HTTP phase.
  assert.deepEqual(stored, [{
    workflowId: 'unit-recheck-1',
    benchmarkRunId: benchmarkResult.runId,
    measuredAt: '2026-12-04T13:36:07.602Z',
    capacityRows: 100_330,
    indexBytes: 821_911_552,
    sharedBuffersBytes: 2_147_483_648,
    estimatedGraphBytes: 802_399_208,
    maintenanceWorkMemBytes: 2_147_483_648,
    buildSeconds: 164.49,
    p99Ms: 8.695,
    httpP99Ms: 20.703,
    recallAt10: 0.9911,
  }]);
});

test('the index type of a recheck goes to the index build and the benchmark alike (the benchmark\'s own when the recheck names none)', async () => {
  const run = async (workflowId: string, input: CapacityRecheckInput) =>
    env.client.workflow.execute(capacityRecheck, { taskQueue: TASK_QUEUE, workflowId, args: [input] });
  const fake = { fake: { result: benchmarkResult } };
  const named = await run('unit-recheck-vector', { traces: 100_000, indexType: 'vector', benchmark: fake } as CapacityRecheckInput);
  assert.equal(named.index.indexType, 'vector');
  assert.equal(named.benchmark.name, 'benchmark of vector');
  const fromBenchmark = await run('unit-recheck-halfvec', { traces: 100_000, benchmark: { ...fake, indexType: 'halfvec' } } as CapacityRecheckInput);
  assert.equal(fromBenchmark.index.indexType, 'halfvec');
  assert.equal(fromBenchmark.benchmark.name, 'benchmark of halfvec');
});

test('a recheck benchmarks over HTTP on the worker-served API unless its benchmark input says otherwise', async () => {
  const run = async (workflowId: string, benchmark: object) =>
    (await env.client.workflow.execute(capacityRecheck, { taskQueue: TASK_QUEUE, workflowId, args: [{ traces: 100_000, benchmark } as CapacityRecheckInput] })).benchmark.name;
  const fake = { fake: { result: benchmarkResult, echoHttp: true } };
  assert.equal(await run('unit-recheck-http-default', fake), 'http {}');
  assert.equal(await run('unit-recheck-http-off', { ...fake, http: null }), 'http null');
  assert.equal(await run('unit-recheck-http-url', { ...fake, http: { baseUrl: 'http://api.internal:8080' } }), 'http {"baseUrl":"http://api.internal:8080"}');
});
