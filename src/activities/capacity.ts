import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { describeCentreSource, loadCentres, type CentreSource } from '../capacity/centres.js';
import { batchRange, type BatchSpec } from '../capacity/generator.js';
import { countRunRows, ensureCapacityContributor, writeCapacityBatch, type BatchWrite } from '../capacity/population.js';
import { buildHnswIndex, dropHnswIndex, dropHnswIndexes, type IndexBuildReport } from '../capacity/index-build.js';
import { DEFAULT_INDEX_TYPE, type IndexType } from '../db/hnsw.js';
import {
  deleteCapacityStep, finishCapacityCleanup, prepareCleanupIndex, traceCounts, type DeletionStep, type PreparedCleanupIndex, type TraceCounts,
} from '../capacity/cleanup.js';
import { assertCapacityTarget, ensureCapacitySchema, isMissingDatabase, prepareCapacityDatabase, type CapacityDatabaseReady } from '../db/capacity-database.js';
import type { ActivityDeps } from './deps.js';
import { whileHeartbeating } from './heartbeat.js';

export interface CapacityRunSpec {
  runKey: string;
  total: number;
  batchSize: number;
  dimensions: number;
  clusters: number;
  sigma: number;
  generatorSeed: number;
}

export interface PreparedCapacityRun {
  contributorId: string;
  modelId: string;
  centres: CentreSource;
  droppedIndex: boolean;
  database: CapacityDatabaseReady & { name: string };
}

export interface CapacityBatchInput {
  spec: CapacityRunSpec;
  batchIndex: number;
  contributorId: string;
  modelId: string;
  centres: CentreSource;
}

/**
 * Every statement here runs in the capacity database (deps.capacityPool), never the live one; each
 * destructive step first checks which database that is (assertCapacityTarget).
 */
export function createCapacityActivities({ pool: livePool, capacityPool: pool, config, embedder }: ActivityDeps) {
  const guard = (allowProduction: boolean | undefined, what: string) => assertCapacityTarget(config, { live: livePool, capacity: pool }, allowProduction, what);
  return {
    async prepareCapacityRun(input: { spec: CapacityRunSpec; allowProduction?: boolean; dropIndex: boolean }): Promise<PreparedCapacityRun> {
      if (input.spec.dimensions !== embedder.dimensions) {
        throw ApplicationFailure.nonRetryable(
          `dimensions ${input.spec.dimensions} does not match the schema's vector(${embedder.dimensions}); use ${embedder.dimensions}`,
          'InvalidCapacityInput',
        );
      }
      // A database that does not exist yet is neither live nor production: create it, then check.
      await guard(input.allowProduction, 'populate capacity data').catch((err: unknown) => {
        if (!isMissingDatabase(err)) throw err;
      });
      const ctx = Context.current();
      const ready = await prepareCapacityDatabase(config, pool, embedder, (phase) => ctx.heartbeat({ phase }));
      const { name } = await guard(input.allowProduction, 'populate capacity data');
      const contributorId = await ensureCapacityContributor(pool);
      const centres = describeCentreSource({
        clusters: input.spec.clusters, dimensions: input.spec.dimensions, generatorSeed: input.spec.generatorSeed,
      });
      // Maintaining the HNSW graph row by row is far slower than one build after the load (of either type).
      const droppedIndex = input.dropIndex ? await dropHnswIndexes(pool) : false;
      return { contributorId, modelId: embedder.modelId, centres, droppedIndex, database: { ...ready, name } };
    },

    async populateCapacityBatch(input: CapacityBatchInput): Promise<BatchWrite & { ms: number }> {
      const started = performance.now();
      const ctx = Context.current();
      const { spec } = input;
      let centres: Float32Array[];
      try {
        centres = loadCentres({ clusters: spec.clusters, dimensions: spec.dimensions, generatorSeed: spec.generatorSeed }, input.centres);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`cluster centres changed mid-run (${(err as Error).message}); start a new runKey`, 'CentresChanged');
      }
      const batch: BatchSpec = { ...spec, batchIndex: input.batchIndex };
      const { start, end } = batchRange(batch);
      let phase = 'starting';
      const details = () => ({ batchIndex: input.batchIndex, phase, rows: end - start });
      // The workflow's heartbeat timeout is short so a dead worker's batch is retried within seconds;
      // beating every second keeps a live batch from timing out while its COPY waits on the server.
      const result = await whileHeartbeating(
        () => writeCapacityBatch(pool, batch, centres, { modelId: input.modelId, contributorId: input.contributorId }, (p) => {
          phase = p;
          ctx.heartbeat(details());
        }),
        details,
      );
      const ms = Math.round(performance.now() - started);
      log.info('capacity batch written', { runKey: spec.runKey, batchIndex: input.batchIndex, rows: result.rows, alreadyDone: result.alreadyDone, repaired: result.repaired, ms });
      return { ...result, ms };
    },

    /**
     * What the ledger claims for the run, and what is there: `rowsPresent` counts the run's rows
     * (their deterministic ids over [0, total)) in `traces`. Judge on rowsPresent, never on `rows`.
     */
    async capacityLedger(input: { runKey: string; total: number }): Promise<{ batches: number; rows: number; rowsPresent: number }> {
      await ensureCapacitySchema(config);
      const { rows } = await pool.query<{ batches: number; rows: number }>(
        'SELECT count(*)::int AS batches, coalesce(sum(rows), 0)::int AS rows FROM capacity_batches WHERE run_key = $1', [input.runKey],
      );
      return { ...rows[0]!, rowsPresent: await countRunRows(pool, input.runKey, input.total) };
    },

    async buildIndex(input: {
      maintenanceWorkMemCapMb: number; parallelWorkers: number; prewarm: boolean; rebuild: boolean; allowProduction?: boolean;
      /** Default DEFAULT_INDEX_TYPE. */
      indexType?: IndexType;
    }): Promise<IndexBuildReport> {
      const indexType = input.indexType ?? DEFAULT_INDEX_TYPE;
      // Rebuilding drops a valid index: searches on a production table scan it until the build ends.
      await ensureCapacitySchema(config);
      if (input.rebuild) await guard(input.allowProduction, 'rebuild the HNSW index');
      const ctx = Context.current();
      log.info('HNSW index build started', { indexType, rebuild: input.rebuild, parallelWorkers: input.parallelWorkers, maintenanceWorkMemCapMb: input.maintenanceWorkMemCapMb });
      const report = await whileHeartbeating(
        () => buildHnswIndex(pool, {
          indexType,
          maintenanceWorkMemCapBytes: input.maintenanceWorkMemCapMb * 1024 * 1024,
          parallelWorkers: input.parallelWorkers,
          prewarm: input.prewarm,
          rebuild: input.rebuild,
          onProgress: (p) => ctx.heartbeat(p),
        }),
        () => ({ phase: 'waiting for progress' }),
        5_000,
      );
      log.info(report.built ? 'HNSW index build finished' : 'HNSW index already present', {
        indexType, built: report.built, rows: report.rows, buildSeconds: report.buildSeconds, indexBytes: report.indexBytes, usedByPlanner: report.usedByPlanner,
      });
      return report;
    },

    /** Drops the HNSW index of `indexType` in the capacity database; false when there was none. */
    async dropCapacityIndex(input: { indexType: IndexType; allowProduction?: boolean }): Promise<boolean> {
      await ensureCapacitySchema(config);
      await guard(input.allowProduction, `drop the ${input.indexType} HNSW index`);
      return dropHnswIndex(pool, input.indexType);
    },

    async capacityTraceCounts(): Promise<TraceCounts> {
      await ensureCapacitySchema(config);
      return whileHeartbeating(() => traceCounts(pool));
    },

    /** Takes the HNSW index out of the bulk delete's way when it must not be vacuumed after it (see planCleanupIndex). */
    async prepareCapacityCleanup(input: { allowProduction?: boolean }): Promise<PreparedCleanupIndex> {
      await ensureCapacitySchema(config);
      await guard(input.allowProduction, 'delete capacity data');
      const prepared = await whileHeartbeating(() => prepareCleanupIndex(pool));
      log.info(prepared.dropped ? 'capacity cleanup: HNSW index dropped before the delete' : 'capacity cleanup: HNSW index kept', {
        reason: prepared.reason, pgvectorVersion: prepared.pgvectorVersion,
      });
      return prepared;
    },

    /** One bounded transaction: whole ledger batches with their rows, then rows no ledger entry claims. */
    async deleteCapacityBatch(input: { limit: number; allowProduction?: boolean }): Promise<DeletionStep> {
      await guard(input.allowProduction, 'delete capacity data');
      const step = await whileHeartbeating(() => deleteCapacityStep(pool, input.limit));
      log.info('capacity cleanup step committed', { ...step });
      return step;
    },

    async finishCapacityCleanup(input: { allowProduction?: boolean }): Promise<{ ledgerRows: number; contributorRemoved: boolean }> {
      await guard(input.allowProduction, 'delete capacity data');
      return whileHeartbeating(() => finishCapacityCleanup(pool));
    },
  };
}
