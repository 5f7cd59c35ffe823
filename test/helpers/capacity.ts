import assert from 'node:assert/strict';
import { deleteCapacityStep, finishCapacityCleanup, traceCounts } from '../../src/capacity/cleanup.js';
import { capacityTestPool } from './db.js';

/** Removes every capacity row and ledger entry from the capacity database through the cleanup's own steps, and checks none is left. */
export async function removeAllCapacityData(): Promise<void> {
  const pool = capacityTestPool();
  for (;;) {
    const step = await deleteCapacityStep(pool, 10_000);
    if (step.rows === 0 && step.ledgerBatches === 0) break;
  }
  await finishCapacityCleanup(pool);
  assert.equal((await traceCounts(pool)).capacity, 0);
}
