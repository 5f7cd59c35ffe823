import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { CAPACITY_LIMITS, intInRange } from './capacity-input.js';
import { BUILD_INDEX_ACTIVITY } from './index-build.js';
import { ProgressTracker } from './progress.js';
import { ReadinessAttributes } from './readiness-attributes.js';

export interface CapacityCleanupInput {
  /** Rows per delete transaction (whole ledger batches, at least one). */
  batchSize?: number;
  allowProduction?: boolean;
}

export interface CapacityCleanupResult {
  before: { capacity: number; seeds: number; others: number };
  after: { capacity: number; seeds: number; others: number };
  deleted: number;
  transactions: number;
  /** Ledger batches deleted, each in the transaction that deleted its rows (plus any left at the end). */
  ledgerRowsDeleted: number;
  /** Ledger batches whose rows were not all there when deleted. */
  incompleteLedgerBatches: number;
  /** Capacity rows no ledger entry claimed (older runs), deleted after the ledger's batches. */
  orphanRowsDeleted: number;
  /** The HNSW index around the bulk delete: dropped before it (and why), and built again after. */
  index: {
    pgvectorVersion: string;
    droppedBeforeDelete: boolean;
    reason: string;
    rebuilt: boolean;
    buildSeconds: number;
    usedByPlanner: boolean;
  };
  /** The index was built after the delete (same as index.rebuilt). */
  reindexed: boolean;
  verified: boolean;
}

const { capacityTraceCounts, prepareCapacityCleanup, deleteCapacityBatch, finishCapacityCleanup } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  // Each step heartbeats every second: a step on a worker that died is retried within seconds.
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const { buildIndex } = proxyActivities<Activities>(BUILD_INDEX_ACTIVITY);

/**
 * Deletes only the capacity contributor's rows, in bounded transactions, and proves it by counting.
 * Each ledger batch goes in the transaction that deletes its rows, so a cleanup stopped anywhere
 * leaves no ledger entry over missing rows. The HNSW index is dropped before the bulk delete when
 * vacuuming it afterwards is unsafe (pgvector < 0.8.4) or slower than a rebuild, and built again at
 * the end (CONCURRENTLY both ways: the table may be serving searches).
 */
export async function capacityCleanup(input: CapacityCleanupInput = {}): Promise<CapacityCleanupResult> {
  const batchSize = intInRange('batchSize', input.batchSize ?? 10_000, CAPACITY_LIMITS.cleanupBatchSize);
  const attributes = new ReadinessAttributes();
  attributes.set('cleanup', 0);
  const before = await capacityTraceCounts();
  const progress = new ProgressTracker('capacityCleanup', before.capacity, 'rows');
  const index = await prepareCapacityCleanup.executeWithOptions({ summary: 'drop the HNSW index before the bulk delete, if it must not be vacuumed' }, [
    { allowProduction: input.allowProduction },
  ]);
  let deleted = 0;
  let transactions = 0;
  let ledgerBatches = 0;
  let incomplete = 0;
  let orphans = 0;
  for (;;) {
    const step = await deleteCapacityBatch.executeWithOptions({ summary: `delete up to ${batchSize} capacity rows with their ledger batches` }, [
      { limit: batchSize, allowProduction: input.allowProduction },
    ]);
    transactions++;
    if (step.rows === 0 && step.ledgerBatches === 0) break;
    deleted += step.rows;
    ledgerBatches += step.ledgerBatches;
    incomplete += step.incompleteBatches;
    orphans += step.orphanRows;
    progress.advance(step.rows);
    attributes.set('cleanup', before.capacity === 0 ? 100 : Math.min(100, (100 * deleted) / before.capacity));
  }
  const finished = await finishCapacityCleanup({ allowProduction: input.allowProduction });
  // Builds the index if it was dropped (or missing), drops and rebuilds an INVALID one, verifies a valid one.
  const built = await buildIndex.executeWithOptions({ summary: 'build the HNSW index back (CONCURRENTLY), or verify it' }, [
    { maintenanceWorkMemCapMb: 2048, parallelWorkers: 1, prewarm: false, rebuild: false },
  ]);
  const after = await capacityTraceCounts();
  const verified = after.capacity === 0 && after.seeds === before.seeds && after.others === before.others;
  progress.publish('Capacity cleanup', [
    ['capacity rows before → after', `${before.capacity} → ${after.capacity}`],
    ['seeds before → after', `${before.seeds} → ${after.seeds}`],
    ['other traces before → after', `${before.others} → ${after.others}`],
    ['ledger batches deleted with their rows', `${ledgerBatches + finished.ledgerRows} (${incomplete} incomplete)`],
    ['HNSW index', `${index.dropped ? 'dropped before the delete' : 'kept'} (${index.reason}); ${built.built ? `built after in ${built.buildSeconds} s` : 'present'}`],
    ['verified', verified ? 'yes' : 'NO'],
  ]);
  progress.finish(verified ? 'succeeded' : 'failed');
  const summary = { deleted, transactions, capacityAfter: after.capacity, seedsBefore: before.seeds, seedsAfter: after.seeds, reindexed: built.built };
  if (verified) log.info('capacity cleanup verified', summary);
  else log.warn('capacity cleanup NOT verified: counts after differ from what should remain', summary);
  return {
    before,
    after,
    deleted,
    transactions,
    ledgerRowsDeleted: ledgerBatches + finished.ledgerRows,
    incompleteLedgerBatches: incomplete,
    orphanRowsDeleted: orphans,
    index: {
      pgvectorVersion: index.pgvectorVersion,
      droppedBeforeDelete: index.dropped,
      reason: index.reason,
      rebuilt: built.built,
      buildSeconds: built.buildSeconds,
      usedByPlanner: built.usedByPlanner,
    },
    reindexed: built.built,
    verified,
  };
}
