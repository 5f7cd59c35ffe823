import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { ProgressTracker } from './progress.js';

export type EmbeddingTargetName = 'seeds' | 'all';

export interface EmbeddingReadinessInput {
  target?: EmbeddingTargetName;
  deadlineSeconds?: number;
  batchSize?: number;
  /** Parallel claim-and-embed loops; rows are claimed with SKIP LOCKED, so lanes never overlap. */
  lanes?: number;
}

export interface EmbeddingReadinessResult {
  target: EmbeddingTargetName;
  modelId: string;
  embedded: number;
  total: number;
  pending: number;
  seconds: number;
}

const DEFAULTS = { target: 'seeds', deadlineSeconds: 900, batchSize: 256, lanes: 2 } as const;

const { countPendingEmbeddings } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

/**
 * Backfills vectors for rows with none for the active model, then confirms zero are pending. The
 * deadline bounds every activity (schedule-to-close), so a broken embedder ends the run with the
 * pending count instead of retrying forever.
 */
export async function embeddingReadiness(input: EmbeddingReadinessInput = {}): Promise<EmbeddingReadinessResult> {
  const opts = { ...DEFAULTS, ...input };
  const deadline = Date.now() + opts.deadlineSeconds * 1000;
  const remaining = () => Math.max(1000, deadline - Date.now());

  const initial = await countPendingEmbeddings({ target: opts.target });
  const progress = new ProgressTracker('embeddingReadiness', initial.pending, 'embeddings');
  const embeddedAtStart = initial.total - initial.pending;
  let embedded = 0;
  let lastError: string | undefined;

  const batchActivities = () =>
    proxyActivities<Activities>({
      startToCloseTimeout: '5 minutes',
      // The batch heartbeats every second: a dead worker's claimed rows are retried within seconds.
      heartbeatTimeout: '10 seconds',
      scheduleToCloseTimeout: remaining(),
      // Embedding outages (429/5xx) are retried here with the provider's Retry-After honoured.
      retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
    });
  const pollActivities = () =>
    proxyActivities<Activities>({
      startToCloseTimeout: '30 seconds',
      scheduleToCloseTimeout: remaining(),
      // The retry policy is the poll: waits for rows that other workers have claimed.
      retry: { initialInterval: '1 second', backoffCoefficient: 1.5, maximumInterval: '5 seconds' },
    });

  const lane = async (laneIndex: number): Promise<void> => {
    for (let batch = 1; ; batch++) {
      const result = await batchActivities().embedPendingBatch.executeWithOptions(
        { summary: `lane ${laneIndex} batch ${batch} (${opts.target}, up to ${opts.batchSize})` },
        [{ target: opts.target, batchSize: opts.batchSize }],
      );
      embedded += result.embedded;
      // New rows raise the work to do; rows another lane holds uncommitted are not new (counting
      // `embedded + pending` would count them twice when the lanes' results arrive out of order).
      progress.state.total = Math.max(progress.state.total, result.total - embeddedAtStart);
      progress.advance(result.embedded, `${result.pending} pending`);
      progress.publish('Embedding readiness', [
        ['model', result.modelId],
        ['embedded', String(embedded)],
        ['pending', String(result.pending)],
        ['lanes', String(opts.lanes)],
      ]);
      if (result.embedded === 0) return;
    }
  };

  try {
    await Promise.all(Array.from({ length: opts.lanes }, (_, i) => lane(i + 1)));
    await pollActivities().awaitNoPendingEmbeddings.executeWithOptions({ summary: 'confirm zero pending' }, [{ target: opts.target }]);
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    lastError = err.cause?.message ?? err.message;
    const counts = await countPendingEmbeddings({ target: opts.target });
    progress.finish('failed', lastError);
    // A non-retryable provider error (401, wrong dimension) ends the run at once: say so, not "deadline".
    const timedOut = err.retryState === RetryState.TIMEOUT;
    throw ApplicationFailure.nonRetryable(
      `${timedOut ? `Embedding readiness did not finish within ${opts.deadlineSeconds} s` : 'Embedding readiness stopped on an error that retrying cannot fix'}: ` +
        `${counts.pending} of ${counts.total} ` +
        `${opts.target === 'seeds' ? 'seed ' : ''}traces still pending for model ${counts.modelId} (last error: ${lastError}). ` +
        'Check the embedding provider (OPENAI_API_KEY, OPENAI_BASE_URL) and run embeddingReadiness again.',
      timedOut ? 'EmbeddingDeadlineExceeded' : 'EmbeddingFailed',
      { pending: counts.pending, total: counts.total, workflowId: workflowInfo().workflowId },
    );
  }
  const final = await countPendingEmbeddings({ target: opts.target });
  progress.finish('succeeded', `${embedded} embedded`);
  return {
    target: opts.target,
    modelId: final.modelId,
    embedded,
    total: final.total,
    pending: final.pending,
    seconds: Math.round(progress.elapsedSeconds() * 10) / 10,
  };
}
