import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SeedImportResult } from '../../src/workflows/seed-import.js';
import { baseConfig, testConfig, uniqueName, withClient } from '../helpers/env.js';
import { closeTestPool } from '../helpers/db.js';
import { waitFor } from '../helpers/db.js';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.js';
import { deleteSeeds, SEED_COUNT, seedStats } from '../helpers/seeds.js';
import { seedImport } from '../../src/workflows/seed-import.js';

const config = testConfig();
const workerEnv = { TEMPORAL_TASK_QUEUE: config.temporal.taskQueue, DATABASE_URL: baseConfig.databaseUrl };
const workers: WorkerProcess[] = [];

before(() => deleteSeeds());
after(async () => {
  for (const w of workers) await w.kill();
  await deleteSeeds();
  await closeTestPool();
});

test('a worker SIGKILLed mid-import is replaced and the import resumes without duplicates', async () => {
  const first = await spawnWorker(workerEnv);
  workers.push(first);
  const workflowId = uniqueName('seed-import-crash');
  // 11 chunks of 30, each after a timer (the dev server fires short timers about a second late): long
  // enough to kill the worker with part of the seeds written.
  const handle = await withClient(config, (client) =>
    client.workflow.start(seedImport, {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [{ chunkSize: 30, throttleMs: 150 }],
    }),
  );

  await waitFor(async () => (await seedStats()).rows >= 60, 120_000, 'the import to write some chunks');
  await first.kill('SIGKILL');
  const atCrash = (await seedStats()).rows;
  await new Promise((r) => setTimeout(r, 1_000));
  const afterCrash = await seedStats();
  assert.ok(afterCrash.rows < SEED_COUNT, `the crash must land mid-import (${afterCrash.rows} rows written)`);
  assert.equal(afterCrash.rows, atCrash, 'nothing is written while no worker runs');
  assert.equal(afterCrash.rows % 30, 0, 'a chunk commits whole or not at all');

  workers.push(await spawnWorker(workerEnv));
  const result = await withClient(config, (client) => client.workflow.getHandle(workflowId, handle.firstExecutionRunId).result()) as SeedImportResult;

  assert.deepEqual(await seedStats(), { rows: SEED_COUNT, distinctKeys: SEED_COUNT, embedded: 0 });
  assert.equal(result.total, SEED_COUNT);
  assert.equal(result.chunks, 11);
  assert.equal(result.updated, 0);
  assert.equal(result.inserted + result.skipped, SEED_COUNT);
  // Only a chunk that committed just before the kill, but whose completion never reached Temporal,
  // is re-run and counted as skipped: at most one chunk.
  assert.ok(result.inserted >= SEED_COUNT - 30, `inserted ${result.inserted}, skipped ${result.skipped}`);
});
