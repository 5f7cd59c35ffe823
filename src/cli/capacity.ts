/** CLI commands for the capacity track: populate synthetic traces, build the HNSW index, clean up. */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Config } from '../config.js';
import { formatBytes } from '../bytes.js';
import type { IndexBuildReport } from '../capacity/index-build.js';
import { capacityCleanup, type CapacityCleanupResult } from '../workflows/capacity-cleanup.js';
import { capacityPopulation, type CapacityPopulationResult } from '../workflows/capacity-population.js';
import { buildDuration, indexBuild } from '../workflows/index-build.js';
import { textTable } from './format.js';
import { DEFAULT_INDEX_TYPE, INDEX_TYPES } from '../db/hnsw.js';
import { choiceOption, CLI_RANGES, intOption, waitWorkerOption } from './parse.js';
import { runWorkflowCommand } from './run-workflow.js';

export function formatPopulation(r: CapacityPopulationResult): string {
  const lines = [
    `capacity populate: ${r.total} rows in ${r.batches} batches — ${r.rowsInserted} inserted, ${r.rowsAlreadyPresent} already present; ` +
      `${r.rowsPresent} rows present (ledger ${r.ledgerRows})`,
    `  ${r.seconds} s, ${r.rowsPerSecond} rows/s, ${r.megabytesPerSecond} MB/s; run key ${r.runKey}; centres from ${r.centres}`,
  ];
  if (r.batchesRepaired > 0) lines.push(`  ${r.batchesRepaired} batches were in the ledger with rows missing: written again`);
  if (r.droppedIndex) lines.push('  the HNSW index was dropped for the load: run `capacity index` to build it');
  return lines.join('\n');
}

export function formatIndexBuild(r: IndexBuildReport): string {
  const table = textTable(['figure', 'value'], [
    ['rows', String(r.rows)],
    ['index', `${r.indexName} (${r.indexType}): m=${r.m}, ef_construction=${r.efConstruction}, ${r.dimensions} dims`],
    ['built', r.built ? `yes, ${buildDuration(r)}` : 'no, a valid index was already there'],
    ['parallel workers', r.parallelDisabledReason ? `${r.parallelWorkers} (${r.parallelDisabledReason})` : String(r.parallelWorkers)],
    ['pgvector', r.pgvectorVersion],
    ['graph estimate / maintenance_work_mem', `${formatBytes(r.estimatedGraphBytes)} / ${formatBytes(r.maintenanceWorkMemBytes)}`],
    ['index size / shared_buffers', `${formatBytes(r.indexBytes)} / ${formatBytes(r.sharedBuffersBytes)} (${r.fitsInSharedBuffers ? 'fits' : 'does NOT fit'})`],
    ['planner uses the index', r.usedByPlanner ? 'yes' : 'NO'],
    ['prewarmed', r.prewarmed ? 'yes' : 'no'],
  ]);
  const warnings = r.warnings.map((w) => `warning: ${w}`);
  return [`capacity index: ${r.usedByPlanner ? 'OK' : 'FAIL'}`, table, ...warnings].join('\n');
}

export function formatCleanup(r: CapacityCleanupResult): string {
  const arrow = (k: 'capacity' | 'seeds' | 'others') => `${r.before[k]} → ${r.after[k]}`;
  return [
    `capacity cleanup: ${r.verified ? 'verified' : 'NOT verified'} — ${r.deleted} capacity rows deleted in ${r.transactions} transactions, ${r.ledgerRowsDeleted} ledger rows`,
    `  capacity ${arrow('capacity')}, seeds ${arrow('seeds')}, other traces ${arrow('others')}${r.reindexed ? '; HNSW index rebuilt' : ''}`,
    `  HNSW index ${r.index.droppedBeforeDelete ? 'dropped before the delete' : 'kept'}: ${r.index.reason}`,
  ].join('\n');
}

export function registerCapacityCommands(program: CommandUnknownOpts, config: () => Config): void {
  const capacity = program.command('capacity').description('synthetic capacity data: populate, index, clean up');

  capacity
    .command('populate')
    .description('load synthetic traces in exactly-once batches (capacityPopulation workflow); drops the HNSW index for the load')
    .option('--total <n>', 'rows to load', intOption('--total', CLI_RANGES.traces), 100_000)
    .option('--batch-size <n>', 'rows per batch activity', intOption('--batch-size', CLI_RANGES.batchSize), 1_000)
    .option('--concurrency <n>', 'batch activities in flight', intOption('--concurrency', CLI_RANGES.concurrency), 2)
    .option('--run-key <key>', 'idempotency key of the run (default derived from the settings); the same key again inserts 0')
    .option('--allow-production', 'run even when the capacity database is a production one (APP_ENV=production or listed in PRODUCTION_DATABASES)')
    .option('--json', 'print the result as JSON')
    .addOption(waitWorkerOption())
    .action(async (opts) => {
      process.exitCode = await runWorkflowCommand(config(), {
        workflow: capacityPopulation,
        idPrefix: 'capacity-population',
        input: {
          total: opts.total,
          batchSize: opts.batchSize,
          concurrency: opts.concurrency,
          ...(opts.runKey && { runKey: opts.runKey }),
          ...(opts.allowProduction && { allowProduction: true }),
        },
        staticSummary: `Capacity population: ${opts.total} rows in batches of ${opts.batchSize}, ${opts.concurrency} at a time`,
        json: opts.json,
        waitWorker: opts.waitWorker,
        format: formatPopulation,
      });
    });

  capacity
    .command('index')
    .description('build (or verify) the HNSW index and compare its size with shared_buffers (indexBuild workflow)')
    .option('--index-type <type>', `vector, or halfvec (an expression index on embedding::halfvec(1536)); default ${DEFAULT_INDEX_TYPE}`, choiceOption('--index-type', INDEX_TYPES))
    .option('--rebuild', 'drop and rebuild (CONCURRENTLY) even when a valid index exists')
    .option('--allow-production', 'allow --rebuild on a production capacity database (APP_ENV=production or PRODUCTION_DATABASES)')
    .option('--json', 'print the report as JSON')
    .addOption(waitWorkerOption())
    .action(async (opts) => {
      process.exitCode = await runWorkflowCommand(config(), {
        workflow: indexBuild,
        idPrefix: 'index-build',
        input: { rebuild: Boolean(opts.rebuild), ...(opts.indexType && { indexType: opts.indexType }), ...(opts.allowProduction && { allowProduction: true }) },
        staticSummary: opts.rebuild ? 'HNSW index rebuild' : 'HNSW index build (or verify)',
        json: opts.json,
        waitWorker: opts.waitWorker,
        format: formatIndexBuild,
        exitCode: (r) => (r.usedByPlanner ? 0 : 1),
      });
    });

  capacity
    .command('cleanup')
    .description("delete only the capacity contributor's traces in bounded batches, and prove it by counting (capacityCleanup workflow)")
    .option('--allow-production', 'run even when the capacity database is a production one (APP_ENV=production or listed in PRODUCTION_DATABASES)')
    .option('--json', 'print the result as JSON')
    .addOption(waitWorkerOption())
    .action(async (opts) => {
      process.exitCode = await runWorkflowCommand(config(), {
        workflow: capacityCleanup,
        idPrefix: 'capacity-cleanup',
        input: { ...(opts.allowProduction && { allowProduction: true }) },
        staticSummary: 'Capacity cleanup: delete synthetic capacity traces only',
        json: opts.json,
        waitWorker: opts.waitWorker,
        format: formatCleanup,
        exitCode: (r) => (r.verified ? 0 : 1),
      });
    });
}
