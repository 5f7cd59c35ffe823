import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { CentreSource } from '../capacity/centres.js';
import { runKeyOf, validateCapacityShape } from './capacity-input.js';
import { ProgressTracker } from './progress.js';
import { ReadinessAttributes } from './readiness-attributes.js';

export interface CapacityPopulationInput {
  total?: number;
  batchSize?: number;
  dimensions?: number;
  /** Batch activities in flight at once (the in-workflow lane pool). */
  concurrency?: number;
  runKey?: string;
  generatorSeed?: number;
  clusters?: number;
  sigma?: number;
  /** Drop the HNSW index before loading; indexBuild recreates it. */
  dropIndex?: boolean;
  allowProduction?: boolean;
}

export interface CapacityPopulationResult {
  runKey: string;
  total: number;
  batches: number;
  rowsInserted: number;
  rowsAlreadyPresent: number;
  /** Batches the ledger had but whose rows were missing or partial: written again. */
  batchesRepaired: number;
  /** The run's rows counted in `traces` at the end (by their deterministic ids): what the launch judges. */
  rowsPresent: number;
  /** What the ledger claims, for the report; never judged on. */
  ledgerRows: number;
  centres: CentreSource['kind'];
  droppedIndex: boolean;
  seconds: number;
  rowsPerSecond: number;
  megabytesPerSecond: number;
}

export const CAPACITY_DEFAULTS = {
  total: 100_000,
  batchSize: 1_000,
  dimensions: 1536,
  concurrency: 2,
  generatorSeed: 42,
  clusters: 1_000,
  sigma: 0.05,
  dropIndex: true,
} as const;

const { prepareCapacityRun, capacityLedger } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const { populateCapacityBatch } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // Short, so a batch on a worker that died is retried elsewhere within seconds (the activity beats
  // every second; a batch blocks its event loop for well under a second while generating rows).
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20 },
});

/**
 * The ledger's key names everything the rows are drawn from: size, batch size (a batch's rows are
 * seeded by its index, so another batch size draws other rows and other batch ranges), clusters,
 * seeds, noise, random centres and the trust mix (`trust10`: capacity/generator's LOW_TRUST_SHARE
 * of 0.1). Data drawn another way is another run, never reused.
 */
export function defaultRunKey(o: { total: number; batchSize: number; dimensions: number; generatorSeed: number; clusters: number; sigma: number }): string {
  return `capacity-${o.total}x${o.dimensions}-b${o.batchSize}-c${o.clusters}-s${o.generatorSeed}-n${o.sigma}-random-trust10`;
}

/**
 * Loads `total` synthetic traces in batch activities run through a bounded lane pool. Workflows pass
 * batch descriptors, never rows; each batch is deterministic and exactly-once, and a batch whose
 * ledger entry has lost rows is written again (see capacity/population). The result's rowsPresent
 * is counted from the table, not taken from the ledger.
 */
export async function capacityPopulation(input: CapacityPopulationInput = {}): Promise<CapacityPopulationResult> {
  const shape = { ...CAPACITY_DEFAULTS, ...input };
  // An explicit cluster count is at most one per row; the default 1,000 stays valid for smaller runs.
  const maxClusters = input.clusters === undefined ? Math.max(shape.total, CAPACITY_DEFAULTS.clusters) : shape.total;
  const o = { ...shape, ...validateCapacityShape(shape, { maxClusters }) };
  const spec = {
    runKey: runKeyOf(input.runKey) ?? defaultRunKey(o),
    total: o.total,
    batchSize: o.batchSize,
    dimensions: o.dimensions,
    clusters: o.clusters,
    sigma: o.sigma,
    generatorSeed: o.generatorSeed,
  };
  const batches = Math.ceil(spec.total / spec.batchSize);
  const progress = new ProgressTracker('capacityPopulation', spec.total, 'rows');
  const attributes = new ReadinessAttributes();
  attributes.set('capacity', 0);

  const prepared = await prepareCapacityRun.executeWithOptions({ summary: `prepare ${spec.runKey}` }, [
    { spec, allowProduction: input.allowProduction, dropIndex: o.dropIndex },
  ]);

  log.info('capacity population started', { runKey: spec.runKey, total: spec.total, batches, concurrency: o.concurrency, droppedIndex: prepared.droppedIndex });

  let next = 0;
  let batchesDone = 0;
  let inserted = 0;
  let alreadyPresent = 0;
  let repaired = 0;
  let bytes = 0;
  const lane = async (): Promise<void> => {
    while (next < batches) {
      const batchIndex = next++;
      const r = await populateCapacityBatch.executeWithOptions({ summary: `batch ${batchIndex + 1}/${batches}` }, [
        { spec, batchIndex, contributorId: prepared.contributorId, modelId: prepared.modelId, centres: prepared.centres },
      ]);
      batchesDone++;
      if (r.alreadyDone) alreadyPresent += r.rows;
      else inserted += r.rows;
      if (r.repaired) repaired++;
      bytes += r.bytes;
      progress.advance(r.rows, `batch ${batchesDone}/${batches}`);
      attributes.set('capacity', (100 * batchesDone) / batches);
      progress.publish(`Capacity population — ${spec.runKey}`, [
        ['batches', `${batchesDone}/${batches}`],
        ['rows inserted / already present', `${inserted} / ${alreadyPresent}`],
        ['batches rewritten (ledger over missing rows)', String(repaired)],
        ['rate', `${Math.round(progress.state.ratePerSecond ?? 0)} rows/s`],
        ['ETA', `${progress.state.etaSeconds ?? '?'} s`],
        ['centres', `${prepared.centres.kind} (${prepared.centres.fingerprint})`],
      ]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, batches)) }, lane));

  const counted = await capacityLedger({ runKey: spec.runKey, total: spec.total });
  const seconds = progress.elapsedSeconds();
  log.info('capacity population finished', { runKey: spec.runKey, rowsInserted: inserted, rowsAlreadyPresent: alreadyPresent, batchesRepaired: repaired, rowsPresent: counted.rowsPresent });
  progress.finish('succeeded', `${inserted} inserted, ${alreadyPresent} already present, ${counted.rowsPresent} rows present`);
  return {
    runKey: spec.runKey,
    total: spec.total,
    batches,
    rowsInserted: inserted,
    rowsAlreadyPresent: alreadyPresent,
    batchesRepaired: repaired,
    rowsPresent: counted.rowsPresent,
    ledgerRows: counted.rows,
    centres: prepared.centres.kind,
    droppedIndex: prepared.droppedIndex,
    seconds: Math.round(seconds * 100) / 100,
    rowsPerSecond: seconds > 0 ? Math.round(inserted / seconds) : 0,
    megabytesPerSecond: seconds > 0 ? Math.round((bytes / 1e6 / seconds) * 100) / 100 : 0,
  };
}
