/** CLI commands for the cold-start track: seed import, embedding readiness, search and the smoke check. */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Config } from '../config.js';
import { createPool } from '../db/client.js';
import { createEmbedder } from '../embeddings/index.js';
import { searchTraces } from '../search/search.js';
import { normalizeTags } from '../tags.js';
import { isSampleFixture } from '../paths.js';
import { embeddingReadiness } from '../workflows/embedding-readiness.js';
import { firstQuerySmoke, type FirstQuerySmokeResult } from '../workflows/first-query-smoke.js';
import { seedImport } from '../workflows/seed-import.js';
import { textTable } from './format.js';
import { runWorkflowCommand } from './run-workflow.js';
import { CLI_RANGES, commandGroup, intOption, numberOption, waitWorkerOption } from './parse.js';

export function registerColdStartCommands(program: CommandUnknownOpts, config: () => Config): void {
  const seeds = commandGroup(program, 'seeds', 'curated seed traces');
  seeds
    .command('import [path]')
    .description('validate, then import a seed fixture (idempotent by seed_key) through the seedImport workflow')
    .option('--chunk-size <n>', 'seeds per transaction', intOption('--chunk-size', CLI_RANGES.batchSize), 50)
    .option('--sample', 'small fixture: skip the corpus-size rules (automatic for sample_traces.json)')
    .option('--json', 'print the result as JSON')
    .addOption(waitWorkerOption())
    .action(async (path, opts) => {
      // Same rule as `seeds validate`, so a file that validates also imports.
      const corpus = !(opts.sample || (path !== undefined && isSampleFixture(path)));
      process.exitCode = await runWorkflowCommand(config(), {
        workflow: seedImport,
        idPrefix: 'seed-import',
        input: { ...(path && { path }), chunkSize: opts.chunkSize, corpus },
        staticSummary: `Seed import of ${path ?? 'fixtures/seed_traces.json'}`,
        json: opts.json,
        waitWorker: opts.waitWorker,
        format: (r) => `seed import: ${r.inserted} inserted, ${r.updated} updated, ${r.skipped} skipped (${r.total} seeds in ${r.chunks} chunks)`,
      });
    });

  program
    .command('embeddings')
    .description('backfill embeddings and wait until none are pending (embeddingReadiness workflow)')
    .option('--target <target>', 'seeds or all', 'seeds')
    .option('--deadline <seconds>', 'fail if not ready by then', intOption('--deadline', CLI_RANGES.deadlineSeconds), 900)
    .option('--batch-size <n>', 'rows per claimed batch', intOption('--batch-size', CLI_RANGES.batchSize), 256)
    .option('--json', 'print the result as JSON')
    .addOption(waitWorkerOption())
    .action(async (opts) => {
      if (opts.target !== 'seeds' && opts.target !== 'all') throw new Error(`--target expects seeds or all, got "${opts.target}"`);
      process.exitCode = await runWorkflowCommand(config(), {
        workflow: embeddingReadiness,
        idPrefix: 'embedding-readiness',
        input: { target: opts.target, deadlineSeconds: opts.deadline, batchSize: opts.batchSize },
        staticSummary: `Embedding readiness (${opts.target})`,
        json: opts.json,
        waitWorker: opts.waitWorker,
        format: (r) => `embeddings ready: ${r.embedded} embedded with ${r.modelId}, ${r.pending} pending of ${r.total} (${r.seconds} s)`,
      });
    });

  program
    .command('search <query>')
    .description('semantic search over the traces, as an agent would (HNSW + trust re-ranking)')
    .option('--k <n>', 'results to return (max 50)', intOption('--k', CLI_RANGES.searchK), 5)
    .option('--tags <list>', 'comma-separated tags; results must carry at least one')
    .option('--json', 'print the hits as JSON')
    .action(async (query, opts) => {
      const cfg = config();
      const pool = createPool(cfg.databaseUrl, { max: 2 });
      try {
        const { tags, invalid } = normalizeTags(opts.tags ? opts.tags.split(',') : []);
        if (invalid.length > 0) throw new Error(`invalid tag(s): ${invalid.map((i) => i.problem).join('; ')}`);
        const hits = await searchTraces(pool, createEmbedder(cfg), query, { k: opts.k, tags });
        if (opts.json) {
          console.log(JSON.stringify(hits, null, 2));
        } else if (hits.length === 0) {
          console.log('no results (are the seeds imported and embedded? run `npm run cli -- seeds import` and `npm run cli -- embeddings`)');
        } else {
          console.log(textTable(
            ['#', 'score', 'sim', 'trust', 'seed_key / id', 'title', 'tags'],
            hits.map((h, i) => [String(i + 1), h.score.toFixed(3), h.similarity.toFixed(3), h.trustScore.toFixed(2), h.seedKey ?? h.id, h.title, h.tags.join(',')]),
          ));
        }
      } finally {
        await pool.end();
      }
    });

  program
    .command('smoke')
    .description('first-query relevance over the golden queries (firstQuerySmoke workflow); exit 1 below the threshold')
    .option('--min-hit5 <ratio>', 'pass threshold for hit@5', numberOption('--min-hit5', CLI_RANGES.ratio), 0.9)
    .option('--json', 'print the result as JSON')
    .addOption(waitWorkerOption())
    .action(async (opts) => {
      process.exitCode = await runWorkflowCommand(config(), {
        workflow: firstQuerySmoke,
        idPrefix: 'first-query-smoke',
        input: { minHitAt5: opts.minHit5 },
        staticSummary: 'First-query relevance smoke check',
        json: opts.json,
        waitWorker: opts.waitWorker,
        format: formatSmoke,
        exitCode: (r) => (r.passed ? 0 : 1),
      });
    });
}

export function formatSmoke(r: FirstQuerySmokeResult): string {
  const lines = [
    `first-query smoke: ${r.passed ? 'PASS' : 'FAIL'} — ${r.queries} queries, hit@1 ${r.hitAt1.toFixed(3)}, hit@5 ${r.hitAt5.toFixed(3)} (needs ≥ ${r.minHitAt5}), MRR ${r.mrr.toFixed(3)} [${r.modelId}]`,
  ];
  for (const f of r.failures) lines.push(`  miss: "${f.query}" expected ${f.expected.join(', ')}; got ${f.top.join(', ') || '(nothing)'}`);
  return lines.join('\n');
}

