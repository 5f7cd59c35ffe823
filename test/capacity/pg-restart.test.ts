/**
 * PostgreSQL restarted (`pg_ctl restart -m fast`) during a population: the same worker finishes the
 * run, with exact counts read from the rows themselves. It restarts the shared server, so npm test
 * runs this file before any other integration file starts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { removeAllCapacityData } from '../helpers/capacity.js';
import { uniqueName } from '../helpers/config.js';
import { capacityScalar, closeTestPool, testPool, waitFor } from '../helpers/db.js';
import { run } from '../helpers/cli.js';
import { assertExactRun, FAULT_TOTAL as TOTAL, killFaultWorkers, result, startPopulation, workerQueue } from '../helpers/faults.js';

before(async () => {
  await removeAllCapacityData();
  // What was written before (the test templates' migrations, other tests when run by hand) is flushed
  // now, so the restart's shutdown checkpoint holds only this run's writes: otherwise it can keep the
  // server down for many seconds, and the outage measured is those leftovers, not a restart.
  await testPool().query('CHECKPOINT');
});
after(async () => {
  await killFaultWorkers();
  await removeAllCapacityData();
  await closeTestPool();
});

test('PostgreSQL restarted (pg_ctl restart -m fast) mid-population: the run completes with exact rows', async (t) => {
  const q = await workerQueue('fault-pgrestart');
  const runKey = uniqueName('fault-pgrestart');
  const handle = await startPopulation(q.config, runKey);
  await waitFor(async () => (await capacityScalar<number>('SELECT count(*)::int FROM capacity_batches WHERE run_key = $1', [runKey])) >= 4, 60_000, 'some batches');
  const beforeRows = await capacityScalar<number>(`SELECT count(*)::int FROM traces WHERE title LIKE 'Capacity trace%'`);
  const restart = await run('bash', ['scripts/stack/pg-restart.sh'], {}, 90_000);
  assert.equal(restart.code, 0, restart.stderr);
  t.diagnostic(`PostgreSQL restarted with ${beforeRows}/${TOTAL} rows loaded`);
  assert.ok(beforeRows < TOTAL, `the restart must land mid-run (${beforeRows} rows)`);

  const done = await result(q.config, handle);
  assert.equal(q.first.child.exitCode, null, `the worker survives the restart:\n${q.first.output()}`);
  t.diagnostic(`after: ${done.rowsPresent} rows present, ${done.rowsInserted} inserted, ${done.rowsAlreadyPresent} found committed on a retry`);
  assert.equal(done.rowsPresent, TOTAL);
  assert.equal(done.rowsInserted + done.rowsAlreadyPresent, TOTAL);
  await assertExactRun(runKey, TOTAL);
});
