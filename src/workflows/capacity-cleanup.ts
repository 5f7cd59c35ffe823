import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { CapacityCleanupInput, CapacityCleanupResult } from './messages.js';
import { ProgressTracker } from './progress.js';
import { ReadinessAttributes } from './readiness-attributes.js';

const { capacityTraceCounts, deleteCapacityBatch, finishCapacityCleanup } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** Deletes only the capacity contributor's rows, in bounded transactions, and proves it by counting. */
export async function capacityCleanup(input: CapacityCleanupInput = {}): Promise<CapacityCleanupResult> {
  const batchSize = input.batchSize ?? 10_000;
  const attributes = new ReadinessAttributes();
  attributes.set('cleanup', 0);
  const before = await capacityTraceCounts();
  const progress = new ProgressTracker('capacityCleanup', before.capacity, 'rows');
  let deleted = 0;
  let transactions = 0;
  for (;;) {
    const n = await deleteCapacityBatch.executeWithOptions({ summary: `delete up to ${batchSize} capacity rows` }, [
      { limit: batchSize, allowProduction: input.allowProduction },
    ]);
    transactions++;
    if (n === 0) break;
    deleted += n;
    progress.advance(n);
    attributes.set('cleanup', before.capacity === 0 ? 100 : (100 * deleted) / before.capacity);
  }
  const finished = await finishCapacityCleanup({ allowProduction: input.allowProduction });
  const after = await capacityTraceCounts();
  const verified = after.capacity === 0 && after.seeds === before.seeds && after.others === before.others;
  progress.publish('Capacity cleanup', [
    ['capacity rows before → after', `${before.capacity} → ${after.capacity}`],
    ['seeds before → after', `${before.seeds} → ${after.seeds}`],
    ['other traces before → after', `${before.others} → ${after.others}`],
    ['verified', verified ? 'yes' : 'NO'],
  ]);
  progress.finish(verified ? 'succeeded' : 'failed');
  return { before, after, deleted, transactions, ledgerRowsDeleted: finished.ledgerRows, reindexed: finished.reindexed, verified };
}
