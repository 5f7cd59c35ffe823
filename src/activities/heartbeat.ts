import { Context } from '@temporalio/activity';

/**
 * Runs `work` while heartbeating every `everyMs`. With a heartbeat timeout on the activity, a
 * worker that dies mid-activity (SIGKILL, a lost host) is noticed within that timeout and the
 * attempt is retried elsewhere, instead of after the whole start-to-close timeout.
 */
export async function whileHeartbeating<T>(work: () => Promise<T>, details: () => unknown = () => undefined, everyMs = 1_000): Promise<T> {
  const ctx = Context.current();
  const beat = () => ctx.heartbeat(details());
  beat();
  const timer = setInterval(beat, everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
