/**
 * launchReadiness's own logic, without the stack: a local Temporal test server (the CLI binary that
 * stack:up installs, started in memory by TestWorkflowEnvironment) runs the real parent over fake
 * children (fake-stages.ts) that return the results of a real GO launch, or fail, or wait.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { LAUNCH_STAGES, readinessPctKey, readinessStageKey, type LaunchStage } from '../../src/workflows/messages.js';
import type { LaunchReadinessInput, LaunchReport } from '../../src/workflows/launch-readiness.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { launchReadiness } from '../../src/workflows/launch-readiness.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

const FAKES = fileURLToPath(new URL('./fake-stages.ts', import.meta.url));
const TASK_QUEUE = 'unit-launch-readiness';
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let recorded: { scale: number; results: Record<LaunchStage, unknown> };

before(async () => {
  recorded = JSON.parse(await readFile(path.join(REPO_ROOT, 'test/fixtures/launch-results.json'), 'utf8')) as typeof recorded;
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: path.join(REPO_ROOT, '.tools/bin/temporal') },
      searchAttributes: [readinessStageKey, readinessPctKey],
    },
  });
  worker = await Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, workflowsPath: FAKES });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

/** The parent's input: every stage returns its recorded result unless `overrides` scripts it otherwise. */
function input(overrides: Partial<Record<LaunchStage, { fail?: string; holdMs?: number }>> = {}, extra: LaunchReadinessInput = {}): LaunchReadinessInput {
  const stageInputs = Object.fromEntries(LAUNCH_STAGES.map((s) => [s, { fake: { result: recorded.results[s], ...overrides[s] } }]));
  return { traces: recorded.scale, stageInputs, ...extra };
}

let runs = 0;
function start(launch: LaunchReadinessInput): Promise<WorkflowHandle> {
  return env.client.workflow.start(launchReadiness, { taskQueue: TASK_QUEUE, workflowId: `unit-launch-${++runs}`, args: [launch] });
}

const launch = async (launchInput: LaunchReadinessInput) => (await start(launchInput)).result() as Promise<LaunchReport>;
const states = (report: LaunchReport) => Object.fromEntries(report.stages.map((s) => [s.stage, s.state]));
const failed = (report: LaunchReport) => report.criteria.filter((c) => !c.passed).map((c) => c.id);

test('every stage succeeding with a GO run\'s results gives GO, every criterion passed', async () => {
  const report = await launch(input());
  assert.equal(report.verdict, 'GO');
  assert.deepEqual(failed(report), []);
  assert.deepEqual(states(report), Object.fromEntries(LAUNCH_STAGES.map((s) => [s, 'succeeded'])));
  assert.equal(report.criteria.length, 13);
});

test('a failed benchmark is NO-GO with its error; the rate-limit checks and cleanup still run', async () => {
  const report = await launch(input({ searchBenchmark: { fail: 'the benchmark database went away' } }));
  assert.equal(report.verdict, 'NO-GO');
  const stage = report.stages.find((s) => s.stage === 'searchBenchmark')!;
  assert.equal(stage.state, 'failed');
  assert.match(stage.error ?? '', /the benchmark database went away/);
  assert.equal(states(report).rateLimitValidation, 'succeeded');
  assert.equal(states(report).capacityCleanup, 'succeeded', 'cleanup runs after a failed stage');
  assert.deepEqual(failed(report), ['sql-p99', 'http-p99', 'recall-at-10', 'rerank-recall', 'filtered-recall', 'benchmark-errors', 'benchmark-harness']);
});

test('a failed population skips the index build and the benchmark, yet the limiter is validated and the data cleaned up', async () => {
  const report = await launch(input({ capacityPopulation: { fail: 'COPY failed' } }));
  assert.equal(report.verdict, 'NO-GO');
  assert.deepEqual(
    report.stages.filter((s) => s.track === 'hardening').map((s) => [s.stage, s.state, s.summary ?? s.error]),
    [
      ['capacityPopulation', 'failed', 'COPY failed'],
      ['indexBuild', 'skipped', 'not run: capacityPopulation failed'],
      ['searchBenchmark', 'skipped', 'not run: capacityPopulation failed'],
      ['rateLimitValidation', 'succeeded', report.stages.find((s) => s.stage === 'rateLimitValidation')!.summary],
      ['capacityCleanup', 'succeeded', report.stages.find((s) => s.stage === 'capacityCleanup')!.summary],
    ],
  );
});

test('a skipped track is reported as skipped and its criteria fail; a failed preflight runs nothing else', async () => {
  const skipped = await launch(input({}, { skip: ['seedImport', 'embeddingReadiness', 'firstQuerySmoke'] }));
  assert.equal(skipped.verdict, 'NO-GO');
  assert.deepEqual(
    ['seedImport', 'embeddingReadiness', 'firstQuerySmoke'].map((s) => skipped.stages.find((r) => r.stage === s)!.summary),
    ['skipped by request', 'skipped by request', 'skipped by request'],
  );
  assert.deepEqual(failed(skipped), ['seeds-embedded', 'first-query-hit5']);

  const noPreflight = await launch(input({ preflight: { fail: 'PostgreSQL unreachable' } }));
  assert.equal(noPreflight.verdict, 'NO-GO');
  assert.deepEqual(
    noPreflight.stages.filter((s) => s.stage !== 'preflight').map((s) => s.summary),
    LAUNCH_STAGES.filter((s) => s !== 'preflight').map(() => 'not run: preflight failed'),
  );
});

test('cancelling a launch cancels the running stage and ends the run as cancelled, without starting later stages', async () => {
  const handle = await start(input({ capacityPopulation: { holdMs: 3_600_000 } }));
  const population = env.client.workflow.getHandle(`${handle.workflowId}/capacityPopulation`);
  // Wait, on the server's own record, until the stage is running.
  for (let i = 0; ; i++) {
    const described = await population.describe().catch(() => undefined);
    if (described?.status.name === 'RUNNING') break;
    assert.ok(i < 600, 'the population stage started');
    await new Promise((r) => setTimeout(r, 50));
  }
  await handle.cancel();
  await assert.rejects(handle.result(), (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof CancelledFailure, String(err.cause));
    return true;
  });
  assert.equal((await population.describe()).status.name, 'CANCELLED');
  await assert.rejects(env.client.workflow.getHandle(`${handle.workflowId}/searchBenchmark`).describe(), /not found/i);
});
