/**
 * whileHeartbeating under MockActivityEnvironment: the batch, build and cleanup activities rely on
 * it so that a dead worker's attempt is retried within the heartbeat timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { whileHeartbeating } from '../../src/activities/heartbeat.js';

test('beats at once with the current details, keeps beating while the work runs, and stops when it ends', async () => {
  const env = new MockActivityEnvironment();
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  let phase = 'starting';
  const result = await env.run(() =>
    whileHeartbeating(
      () => new Promise<string>((resolve) => {
        // The work moves on after each beat it sees, and finishes after the third.
        env.on('heartbeat', () => {
          if (beats.length === 2) phase = 'copying';
          if (beats.length === 3) resolve('done');
        });
      }),
      () => ({ phase }),
      5,
    ),
  );
  assert.equal(result, 'done');
  assert.deepEqual(beats.slice(0, 3), [{ phase: 'starting' }, { phase: 'starting' }, { phase: 'copying' }]);
  const after = beats.length;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(beats.length, after, 'no beat after the work ended');
});

test('a cancelled activity sees the cancellation through its context while the work runs, and the work\'s failure propagates', async () => {
  const env = new MockActivityEnvironment();
  const run = env.run(() =>
    whileHeartbeating(async () => {
      await Context.current().cancelled;
      return 'not reached';
    }, undefined, 5),
  );
  env.cancel();
  await assert.rejects(run, (err: unknown) => err instanceof CancelledFailure);
});
