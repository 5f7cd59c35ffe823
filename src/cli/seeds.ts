/** `seeds validate`: checks a seed-traces file offline, before anything touches the database. */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { textTable } from './format.js';
import { CLI_RANGES, commandGroup, intOption } from './parse.js';
import { DEFAULT_SEED_FIXTURE, isSampleFixture, resolveProjectPath } from '../paths.js';
import type { SeedValidationReport } from '../seeds/validate.js';

export function formatSeedReport(file: string, report: SeedValidationReport): string {
  const { blocks } = report;
  const languageRows = Object.entries(report.languages).map(([lang, s]) => [
    lang,
    String(s.blocks),
    s.checked > 0 ? String(s.checked) : 'unchecked',
    String(s.failed),
  ]);
  const pct = (blocks.uncheckedShare * 100).toFixed(1);
  const summary = [
    `${file}: ${plural(report.traces, 'trace')} in ${plural(report.clusters, 'cluster')}`,
    '',
    textTable(['language', 'blocks', 'checked', 'failed'], languageRows),
    '',
    `${blocks.total} code blocks: ${blocks.checked} checked (${blocks.failed} failed), ${blocks.unchecked} unchecked (${pct}%)`,
  ];
  if (report.ok) return [...summary, '', 'OK: no problems'].join('\n');
  const problemRows = report.problems.map((p) => [p.seedKey ?? '-', p.path, p.message]);
  return [...summary, '', `${report.problems.length} problem(s):`, textTable(['seed_key', 'path', 'problem'], problemRows)].join('\n');
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export function registerSeedCommands(program: CommandUnknownOpts): void {
  const seeds = commandGroup(program, 'seeds', 'curated seed traces');
  seeds
    .command('validate [path]')
    .description(`check a seed-traces file (schema, tags, duplicates, clusters, code blocks parse); exit 1 on any problem`)
    .option('--json', 'print the report as JSON')
    .option('--sample', `small fixture: skip the corpus-size rules (automatic for sample_traces.json)`)
    .option('--min-clusters <n>', 'clusters the corpus needs (default 60)', intOption('--min-clusters', CLI_RANGES.count))
    .option('--min-traces <n>', 'traces the corpus needs (default 0)', intOption('--min-traces', CLI_RANGES.count))
    .action(async (file, opts) => {
      const given = file ?? DEFAULT_SEED_FIXTURE;
      const resolved = resolveProjectPath(given);
      // Loaded on use: the TypeScript compiler and the PostgreSQL parser are heavy for other commands.
      const { validateSeedFile } = await import('../seeds/validate.js');
      const report = await validateSeedFile(resolved, {
        corpus: !(opts.sample || isSampleFixture(resolved)),
        ...(opts.minClusters !== undefined && { minClusters: opts.minClusters }),
        ...(opts.minTraces !== undefined && { minTraces: opts.minTraces }),
      });
      console.log(opts.json ? JSON.stringify({ path: given, ...report }, null, 2) : formatSeedReport(given, report));
      process.exitCode = report.ok ? 0 : 1;
    });
}
