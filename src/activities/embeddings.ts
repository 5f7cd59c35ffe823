import { ApplicationFailure } from '@temporalio/common';
import { countPending, embedNextBatch, type EmbeddingTarget, type PendingCount } from '../embeddings/backfill.js';
import type { ActivityDeps } from './deps.js';
import { whileHeartbeating } from './heartbeat.js';

export interface BatchResult extends PendingCount {
  embedded: number;
  modelId: string;
}

export function createEmbeddingActivities({ pool, embedder }: ActivityDeps) {
  return {
    async embedPendingBatch(input: { target: EmbeddingTarget; batchSize: number }): Promise<BatchResult> {
      const embedded = await whileHeartbeating(() => embedNextBatch(pool, embedder, input.target, input.batchSize));
      return { embedded, modelId: embedder.modelId, ...(await countPending(pool, embedder.modelId, input.target)) };
    },

    async countPendingEmbeddings(input: { target: EmbeddingTarget }): Promise<PendingCount & { modelId: string }> {
      return { modelId: embedder.modelId, ...(await countPending(pool, embedder.modelId, input.target)) };
    },

    /**
     * Succeeds once nothing is pending. While other workers still hold claimed rows it fails, and
     * the activity retry policy is the poll loop: no timer loop in the workflow, no sleep here.
     */
    async awaitNoPendingEmbeddings(input: { target: EmbeddingTarget }): Promise<PendingCount> {
      const counts = await countPending(pool, embedder.modelId, input.target);
      if (counts.pending > 0) {
        throw ApplicationFailure.retryable(`${counts.pending} of ${counts.total} traces still pending embedding`, 'EmbeddingsPending');
      }
      return counts;
    },
  };
}
