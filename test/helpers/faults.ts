/**
 * What the fault tests share: worker processes on task queues of their own that a test may SIGKILL,
 * workflow results read on a new connection, and exact counts read from the capacity rows themselves.
 */
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { Workflow, WorkflowResultType } from '@temporalio/common';
import { capacityRowId } from '../../src/capacity/generator.js';
import { traceCounts } from '../../src/capacity/cleanup.js';
import { baseConfig, startWorkflow, testConfig, uniqueName, withClient } from './env.js';
import { capacityPopulation } from '../../src/workflows/capacity-population.js';
import { capacityScalar, capacityTestPool, CAPACITY_INDEX } from './db.js';
import { spawnWorker, type WorkerProcess } from './worker-process.js';

/**
 * Rows and batch size of the fault tests' populations (durability.test.ts's too): 40 batches, so a
 * kill or restart lands mid-run, and few enough rows that the loads, the index build and the cleanup
 * stay cheap on a busy 2-core run.
 */
export const FAULT_TOTAL = 5_000;
export const FAULT_BATCH_SIZE = 125;

const workers: WorkerProcess[] = [];

/** Stops every worker process this file started (for its `after` hook). */
export async function killFaultWorkers(): Promise<void> {
  await Promise.all(workers.map((w) => w.kill()));
}

/** A task queue of the test's own, with a worker process on it that the test may SIGKILL. */
export async function workerQueue(prefix: string) {
  const taskQueue = uniqueName(prefix);
  const env = { TEMPORAL_TASK_QUEUE: taskQueue, DATABASE_URL: baseConfig.databaseUrl };
  const spawn = async () => {
    const w = await spawnWorker(env);
    workers.push(w);
    return w;
  };
  return { taskQueue, config: testConfig({ taskQueue }), first: await spawn(), spawn };
}

/** A started workflow's result, read on a new connection (the worker that started it may be gone). */
export function result<W extends Workflow>(config: ReturnType<typeof testConfig>, handle: WorkflowHandle<W>): Promise<WorkflowResultType<W>> {
  return withClient(config, (client) => client.workflow.getHandle<W>(handle.workflowId).result());
}

/**
 * What the capacity database holds, counted from its rows in one snapshot (REPEATABLE READ): a job
 * still running between two separate counts would make rows and ledger disagree when they never do.
 */
export async function capacityState() {
  const client = await capacityTestPool().connect();
  const value = async <T>(sql: string, params: unknown[] = []) => (await client.query<{ v: T }>(sql, params)).rows[0]!.v;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    return {
      ...(await traceCounts(client)),
      ledgerBatches: await value<number>('SELECT count(*)::int AS v FROM capacity_batches'),
      hnswIndexes: await value<number>(`SELECT count(*)::int AS v FROM pg_indexes WHERE tablename = 'traces' AND indexdef ILIKE '%USING hnsw%'`),
      indexValid: await value<boolean | null>('SELECT (SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)) AS v', [CAPACITY_INDEX]),
    };
  } finally {
    await client.query('COMMIT');
    client.release();
  }
}

/** Exactly `total` rows of the run, by their deterministic ids, and a ledger that sums to them. */
export async function assertExactRun(runKey: string, total: number): Promise<void> {
  const ids = Array.from({ length: total }, (_, g) => capacityRowId(runKey, g));
  assert.equal(await capacityScalar<number>('SELECT count(*)::int FROM traces WHERE id = ANY($1::uuid[])', [ids]), total, 'every row of the run');
  assert.equal(await capacityScalar<number>(`SELECT count(*)::int FROM traces WHERE title LIKE 'Capacity trace%'`), total, 'no other capacity row');
  assert.equal(await capacityScalar<number>('SELECT coalesce(sum(rows), 0)::int FROM capacity_batches WHERE run_key = $1', [runKey]), total);
}

/** Starts a population of FAULT_TOTAL rows on the queue of `config`. */
export function startPopulation(config: ReturnType<typeof testConfig>, runKey: string): Promise<WorkflowHandle<typeof capacityPopulation>> {
  return startWorkflow(config, capacityPopulation, { total: FAULT_TOTAL, batchSize: FAULT_BATCH_SIZE, runKey, clusters: 50 });
}

/** A whole population of FAULT_TOTAL rows, to its end. */
export async function populate(config: ReturnType<typeof testConfig>, runKey: string): Promise<void> {
  const loaded = await result(config, await startPopulation(config, runKey));
  assert.equal(loaded.rowsPresent, FAULT_TOTAL);
}

