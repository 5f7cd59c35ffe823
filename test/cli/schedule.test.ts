import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { recheckScheduleOptions } from '../../src/cli/schedule.js';
import { runCliInProcess as runCli } from '../helpers/cli-in-process.js';
import { testConfig, uniqueName, withClient } from '../helpers/env.js';
import { waitFor } from '../helpers/db.js';

test('schedule create / describe / trigger / pause / unpause / delete against the dev server', async () => {
  const config = testConfig();
  const id = uniqueName('recheck');
  const env = { TEMPORAL_TASK_QUEUE: config.temporal.taskQueue };

  const created = await runCli(['schedule', 'create', '--id', id, '--traces', '3000'], env);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, new RegExp(`schedule ${id} created: capacityRecheck at "0 3 \\* \\* \\*" UTC, overlap SKIP`));

  const again = await runCli(['schedule', 'create', '--id', id, '--cron', '30 4 * * *'], env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /updated/, 'create is idempotent: an existing schedule is updated');

  const described = await runCli(['schedule', 'describe', '--id', id, '--json'], env);
  assert.equal(described.code, 0, described.stderr);
  const d = JSON.parse(described.stdout) as { paused: boolean; overlap: ScheduleOverlapPolicy; calendars: { hour: { start: number }[]; minute: { start: number }[] }[]; catchupWindowMs: number; nextActionTimes: string[] };
  assert.equal(d.paused, false);
  assert.equal(d.overlap, ScheduleOverlapPolicy.SKIP);
  assert.equal(d.catchupWindowMs, 6 * 3600 * 1000);
  assert.equal(d.calendars[0]?.hour[0]?.start, 4);
  assert.equal(d.calendars[0]?.minute[0]?.start, 30);
  assert.match(d.nextActionTimes[0] ?? '', /T04:30:00/);

  const triggered = await runCli(['schedule', 'trigger', '--id', id], env);
  assert.equal(triggered.code, 0, triggered.stderr);
  await withClient(config, async (client) => {
    let found: string | undefined;
    await waitFor(async () => {
      for await (const wf of client.workflow.list({ query: `TemporalScheduledById = '${id}'` })) {
        found = wf.workflowId;
        assert.equal(wf.type, 'capacityRecheck');
      }
      return found !== undefined;
    }, 20_000, 'the triggered run to appear with TemporalScheduledById');
    // No worker polls this test's queue; end the run so it does not linger.
    await client.workflow.getHandle(found!).terminate('schedule test cleanup');
  });

  const paused = await runCli(['schedule', 'pause', '--id', id, '--note', 'maintenance'], env);
  assert.equal(paused.code, 0, paused.stderr);
  const afterPause = JSON.parse((await runCli(['schedule', 'describe', '--id', id, '--json'], env)).stdout) as { paused: boolean; note: string };
  assert.deepEqual([afterPause.paused, afterPause.note], [true, 'maintenance']);
  assert.equal((await runCli(['schedule', 'unpause', '--id', id], env)).code, 0);

  const deleted = await runCli(['schedule', 'delete', '--id', id], env);
  assert.equal(deleted.code, 0, deleted.stderr);
  const gone = await runCli(['schedule', 'describe', '--id', id], env);
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, new RegExp(`No schedule "${id}"\\. Create it with`));
});

test('schedule create --index-type names the index each re-check builds and measures; without it the re-check keeps its default', () => {
  const config = testConfig();
  const base = { id: 'recheck-options', cron: '0 3 * * *', traces: 3_000 };
  const args = (indexType?: 'vector' | 'halfvec') =>
    (recheckScheduleOptions(config, { ...base, ...(indexType && { indexType }) }).action as { args: unknown[] }).args;
  assert.deepEqual(args('vector'), [{ traces: 3_000, indexType: 'vector' }]);
  assert.deepEqual(args(), [{ traces: 3_000 }]);
});

test('schedule create --no-http turns the re-check benchmark\'s HTTP phase off; by default the re-check keeps it', () => {
  const config = testConfig();
  const base = { id: 'recheck-options', cron: '0 3 * * *', traces: 3_000 };
  const args = (http: boolean) => (recheckScheduleOptions(config, { ...base, http }).action as { args: unknown[] }).args;
  assert.deepEqual(args(false), [{ traces: 3_000, benchmark: { http: null } }]);
  assert.deepEqual(args(true), [{ traces: 3_000 }]);
});
