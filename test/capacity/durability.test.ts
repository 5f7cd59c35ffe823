/**
 * Exactly-once under real faults: the worker SIGKILLed mid-run, the Temporal server SIGKILLed
 * and started again mid-run, and a batch's PostgreSQL backend terminated mid-COPY. Each run must end with exactly
 * `total` rows, no duplicate, and a ledger row for every batch that matches its rows.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../helpers/api.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { CapacityPopulationInput } from '../../src/workflows/capacity-population.js';
import { capacityRowId } from '../../src/capacity/generator.js';
import { removeAllCapacityData } from '../helpers/capacity.js';
import { baseConfig, startWorker, testConfig, uniqueName, withClient } from '../helpers/env.js';
import { capacityScalar, capacityTestPool, closeTestPool, waitFor, CAPACITY_INDEX } from '../helpers/db.js';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.js';
import { FAULT_BATCH_SIZE as BATCH_SIZE, FAULT_TOTAL as TOTAL } from '../helpers/faults.js';
import { sqliteFormatVersions } from '../helpers/sqlite.js';
import { DedicatedTemporal } from '../helpers/dedicated-temporal.js';
import { capacityPopulation } from '../../src/workflows/capacity-population.js';
import { indexBuild } from '../../src/workflows/index-build.js';

const BATCHES = TOTAL / BATCH_SIZE;

const inProcessConfig = testConfig();
let inProcessWorker: Awaited<ReturnType<typeof startWorker>>;

before(async () => {
  await removeAllCapacityData();
  inProcessWorker = await startWorker(inProcessConfig);
});

after(async () => {
  try {
    // Population drops the HNSW index; after the faults, a build still leaves a valid one. (Whether the
    // planner uses it is not asked: the rows left are the seeds alone, which a sequential scan serves best.)
    const report = await withClient(inProcessConfig, (client) =>
      client.workflow.execute(indexBuild, {
        taskQueue: inProcessConfig.temporal.taskQueue, workflowId: uniqueName('indexBuild'), args: [{ prewarm: false }],
      }),
    );
    assert.equal(report.built, true);
    assert.equal(await capacityScalar<boolean>('SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)', [CAPACITY_INDEX]), true);
  } finally {
    await inProcessWorker.stop();
    await closeTestPool();
  }
});

function populationArgs(runKey: string): [CapacityPopulationInput] {
  return [{ total: TOTAL, batchSize: BATCH_SIZE, runKey, concurrency: 2, clusters: 50 }];
}

async function ledgerBatches(runKey: string): Promise<number> {
  return capacityScalar<number>('SELECT count(*)::int FROM capacity_batches WHERE run_key = $1', [runKey]);
}

/** Waits until at least `n` batches of the run are committed. */
async function waitForLedger(runKey: string, n: number, timeoutMs = 120_000): Promise<number> {
  let seen = 0;
  await waitFor(async () => (seen = await ledgerBatches(runKey)) >= n, timeoutMs, `${n} committed batches of ${runKey}`);
  return seen;
}

/** The whole contract: exactly TOTAL rows with the run's ids, no duplicate key, every batch complete and in the ledger. */
async function assertExactRun(runKey: string): Promise<void> {
  const pool = capacityTestPool();
  const ids = Array.from({ length: TOTAL }, (_, g) => capacityRowId(runKey, g));
  const { rows: [stats] } = await pool.query<{ n: number; ids: number; keys: number; expected: number }>(
    `SELECT count(*)::int AS n, count(DISTINCT t.id)::int AS ids,
            count(DISTINCT split_part(t.title, ':', 1))::int AS keys,
            count(e.id)::int AS expected
       FROM traces t JOIN users u ON u.id = t.contributor_id
       LEFT JOIN unnest($1::uuid[]) AS e(id) ON e.id = t.id
      WHERE u.email = 'capacity-test@commontrace.internal'`,
    [ids],
  );
  assert.deepEqual(stats, { n: TOTAL, ids: TOTAL, keys: TOTAL, expected: TOTAL }, 'exact rows, no duplicate ids or global indexes');

  const { rows: ledger } = await pool.query<{ batch_index: number; rows: number }>(
    'SELECT batch_index, rows FROM capacity_batches WHERE run_key = $1 ORDER BY batch_index', [runKey],
  );
  assert.deepEqual(ledger.map((r) => r.batch_index), Array.from({ length: BATCHES }, (_, i) => i), 'the ledger has every batch');
  assert.equal(ledger.reduce((s, r) => s + r.rows, 0), TOTAL, 'rows = sum(ledger)');

  // No partial batch: each batch's rows (by the global index in the title) are all there.
  const { rows: perBatch } = await pool.query<{ batch: number; n: number }>(
    `SELECT (split_part(split_part(t.title, ':', 1), ' ', 3)::int / $1)::int AS batch, count(*)::int AS n
       FROM traces t JOIN users u ON u.id = t.contributor_id
      WHERE u.email = 'capacity-test@commontrace.internal'
      GROUP BY 1 ORDER BY 1`,
    [BATCH_SIZE],
  );
  assert.deepEqual(perBatch, ledger.map((r) => ({ batch: r.batch_index, n: r.rows })), 'every ledger batch has all its rows');
}

/** Batches whose final attempt was not the first: proof that a fault really hit and was retried. */
async function retriedBatches(handle: WorkflowHandle): Promise<number> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length;
}


/** Activities a worker process has started and not finished (or had, when it died). */
async function activitiesHeldBy(handle: WorkflowHandle, pids: number[]): Promise<Set<string>> {
  const { raw } = await handle.describe();
  return new Set((raw.pendingActivities ?? [])
    .filter((a) => pids.some((pid) => a.lastWorkerIdentity?.startsWith(`${pid}@`)))
    .flatMap((a) => (a.activityId ? [a.activityId] : [])));
}

/** The batch indexes of those activities, from their scheduled input in the history. */
async function batchesOf(handle: WorkflowHandle, activityIds: Set<string>): Promise<number[]> {
  if (activityIds.size === 0) return [];
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes;
    const data = scheduled?.input?.payloads?.[0]?.data;
    if (!scheduled?.activityId || !activityIds.has(scheduled.activityId) || !data) return [];
    return [(JSON.parse(Buffer.from(data).toString()) as { batchIndex: number }).batchIndex];
  });
}

/**
 * Waits until one of the victims holds a batch, SIGKILLs them and starts `fresh` new workers, then
 * times how long until the batches the dead workers held are committed by another worker, and until
 * the run is flowing again.
 */
async function killAndTimeRecovery(handle: WorkflowHandle, runKey: string, victims: WorkerProcess[], env: Record<string, string>, fresh = 1) {
  const pids = victims.map((v) => v.child.pid!);
  await waitFor(async () => (await activitiesHeldBy(handle, pids)).size > 0, 30_000, 'a worker to hold a batch');
  await Promise.all(victims.map((v) => v.kill('SIGKILL')));
  const killedAt = performance.now();
  const since = () => (performance.now() - killedAt) / 1000;
  let readyAfter = NaN;
  const started = Promise.all(Array.from({ length: fresh }, () => spawnWorker(env))).then((w) => ((readyAfter = since()), w));
  const held = await batchesOf(handle, await activitiesHeldBy(handle, pids));
  const committed = await ledgerBatches(runKey);
  assert.ok(committed < BATCHES, `the kill must land mid-run (ledger ${committed}/${BATCHES})`);
  if (held.length === 0) {
    // They finished their batches in the instant before the kill: time the next commit instead.
    await waitForLedger(runKey, committed + 1);
  } else {
    await waitFor(async () => (await capacityScalar<number>(
      'SELECT count(*)::int FROM capacity_batches WHERE run_key = $1 AND batch_index = ANY($2::int[])', [runKey, held],
    )) === held.length, 120_000, `batches ${held.join(', ')} of the killed workers`);
  }
  const recovery = since();
  // Flowing again: a batch beyond the held ones is committed, so the workflow is scheduling work again.
  await waitForLedger(runKey, Math.min(BATCHES, committed + held.length + 1));
  const flowing = since();
  return { started: await started, held, committed, readyAfter, recovery, flowing };
}

test('worker SIGKILLed twice mid-run: a fresh worker finishes with exact rows and no duplicate', async (t) => {
  const taskQueue = uniqueName('cap-kill');
  const runKey = uniqueName('cap-kill');
  const env = { TEMPORAL_TASK_QUEUE: taskQueue, DATABASE_URL: baseConfig.databaseUrl };
  const config = testConfig({ taskQueue });
  const workers = [await spawnWorker(env)];
  t.after(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await removeAllCapacityData();
  });

  await withClient(config, async (client) => {
    const handle = await client.workflow.start(capacityPopulation, { taskQueue, workflowId: uniqueName('capacityPopulation'), args: populationArgs(runKey) });

    // Kill 1: the only worker dies; the run waits for fresh ones (a crashed host coming back, plus a replica).
    await waitForLedger(runKey, 4);
    const cold = await killAndTimeRecovery(handle, runKey, [workers[0]!], env, 2);
    workers.push(...cold.started);
    t.diagnostic(`kill 1 at ${cold.committed}/${BATCHES} batches, holding batches [${cold.held.join(', ')}], no worker left: fresh workers ready ` +
      `${cold.readyAfter.toFixed(1)} s after the kill, those batches committed after ${cold.recovery.toFixed(1)} s, a new batch after ${cold.flowing.toFixed(1)} s`);

    // Kill 2: one of two workers dies while the other is polling, so the figure is Temporal's own
    // recovery (heartbeat timeout, first retry interval, sticky queue timeout), not a process start.
    const warm = await killAndTimeRecovery(handle, runKey, [workers[1]!], env);
    workers.push(...warm.started);
    t.diagnostic(`kill 2 at ${warm.committed}/${BATCHES} batches, holding batches [${warm.held.join(', ')}], another worker polling: ` +
      `those batches committed after ${warm.recovery.toFixed(1)} s, a new batch after ${warm.flowing.toFixed(1)} s`);

    const result = await handle.result();
    assert.equal(result.rowsInserted + result.rowsAlreadyPresent, TOTAL);
    assert.equal(result.ledgerRows, TOTAL);
    assert.equal(result.rowsPresent, TOTAL);
    assert.ok(cold.held.length + warm.held.length > 0 && (await retriedBatches(handle)) > 0, 'the killed workers held batches, and they were retried');
    await assertExactRun(runKey);
    t.diagnostic(`recovery after SIGKILL (kill → the killed worker's batches committed / a new batch committed): ` +
      `cold restart ${cold.recovery.toFixed(1)} / ${cold.flowing.toFixed(1)} s, another worker polling ${warm.recovery.toFixed(1)} / ${warm.flowing.toFixed(1)} s`);
  });
});


async function connect(address: string): Promise<Client> {
  return new Client({ connection: await Connection.connect({ address, connectTimeout: '5s' }) });
}

test('Temporal server SIGKILLed mid-run and started again on its file: the run completes with exact rows', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cap-temporal-'));
  const server = new DedicatedTemporal(await freePort(), await freePort(), path.join(dir, 't.db'));
  const taskQueue = uniqueName('cap-restart');
  const runKey = uniqueName('cap-restart');
  const workers: WorkerProcess[] = [];
  t.after(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    await removeAllCapacityData();
  });

  await server.start();
  assert.deepEqual(await sqliteFormatVersions(path.join(dir, 't.db')), [2, 2], 'the crash is tested on the stack\'s SQLite settings: WAL');
  // The test's own throwaway server: its `default` namespace is nobody's operator namespace.
  const worker = await spawnWorker({
    TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: taskQueue, DATABASE_URL: baseConfig.databaseUrl,
  });
  workers.push(worker);
  const workflowId = uniqueName('capacityPopulation');
  let client = await connect(server.address);
  await client.workflow.start(capacityPopulation, { taskQueue, workflowId, args: populationArgs(runKey) });
  await client.connection.close();

  const before = await waitForLedger(runKey, 4);
  const stoppedAt = performance.now();
  await server.stop('SIGKILL');
  const duringOutage = await ledgerBatches(runKey);
  await new Promise((r) => setTimeout(r, 3_000));
  await server.start();
  const outage = (performance.now() - stoppedAt) / 1000;
  assert.ok(duringOutage < BATCHES, `the restart must land mid-run (ledger ${duringOutage}/${BATCHES})`);
  assert.equal(worker.child.exitCode, null, `the worker must survive a ${outage.toFixed(1)} s outage:\n${worker.output()}`);

  client = await connect(server.address);
  try {
    const handle = client.workflow.getHandle(workflowId);
    const result = await handle.result();
    t.diagnostic(`server SIGKILLed at ${before}/${BATCHES} batches for ${outage.toFixed(1)} s; run finished in ${result.seconds} s ` +
      `(${result.rowsInserted} inserted, ${result.rowsAlreadyPresent} found already committed on a retry)`);
    assert.equal(result.rowsInserted + result.rowsAlreadyPresent, TOTAL);
    assert.equal(result.ledgerRows, TOTAL);
    assert.equal(result.rowsPresent, TOTAL);
    assert.equal(worker.child.exitCode, null, 'the same worker process finished the run');
  } finally {
    await client.connection.close();
  }
  await assertExactRun(runKey);
});

/** Terminates the backend of one of the run's batches while it is inside its COPY; returns the batch index. */
async function terminateMidCopy(runKey: string, t: TestContext, exclude: number[] = []): Promise<number> {
  const pool = capacityTestPool();
  let victim: { pid: number; app: string } | undefined;
  await waitFor(async () => {
    const { rows } = await pool.query<{ pid: number; app: string }>(
      `SELECT pid, application_name AS app FROM pg_stat_activity
        WHERE application_name LIKE $1 AND state = 'active' AND query LIKE 'COPY traces%'
          AND NOT split_part(application_name, ':', 3)::int = ANY($2::int[])`,
      [`capacity:${runKey}:%`, exclude],
    );
    victim = rows[0];
    return victim !== undefined;
  }, 60_000, `an active COPY of ${runKey}`);
  const { rows } = await pool.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [victim!.pid]);
  assert.equal(rows[0]!.ok, true);
  const batchIndex = Number(victim!.app.split(':').at(-1));
  t.diagnostic(`terminated backend ${victim!.pid} mid-COPY of batch ${batchIndex}`);
  return batchIndex;
}

test('PostgreSQL backend terminated mid-COPY: the batch is retried whole, no partial batch', async (t) => {
  const runKey = uniqueName('cap-pgkill');
  t.after(removeAllCapacityData);
  await withClient(inProcessConfig, async (client) => {
    const handle = await client.workflow.start(capacityPopulation, {
      taskQueue: inProcessConfig.temporal.taskQueue, workflowId: uniqueName('capacityPopulation'), args: populationArgs(runKey),
    });
    const victims = [await terminateMidCopy(runKey, t)];
    await waitForLedger(runKey, 8);
    victims.push(await terminateMidCopy(runKey, t, victims));

    const result = await handle.result();
    assert.equal(result.rowsInserted, TOTAL, 'an aborted COPY commits nothing, so every row is inserted by exactly one attempt');
    assert.equal(result.ledgerRows, TOTAL);
    assert.equal(result.rowsPresent, TOTAL);
    // A backend can finish its COPY between being seen active and being terminated, so the retry
    // count is reported rather than asserted; the exact counts above are what must hold.
    t.diagnostic(`activity attempts retried: ${await retriedBatches(handle)} for ${victims.length} terminated backends`);
    for (const b of victims) {
      assert.equal(await capacityScalar<number>('SELECT rows FROM capacity_batches WHERE run_key = $1 AND batch_index = $2', [runKey, b]), BATCH_SIZE);
    }
  });
  await assertExactRun(runKey);
});
