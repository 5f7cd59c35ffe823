/**
 * `bench search` runs the searchBenchmark workflow; `bench report <run>` prints a stored run and
 * `bench report --compare <a> <b>` flags p99 regressions and recall drops between two runs
 * (exit 1 when any is flagged, so a nightly job can alert on it).
 */
import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Config } from '../config.js';
import { compareReports, DEFAULT_COMPARE_LIMITS, type Comparison, type ComparisonRow } from '../benchmark/compare.js';
import { loadBenchmarkRun } from '../benchmark/store.js';
import { WRITES_PER_MINUTE_RANGE } from '../benchmark/mixed-plan.js';
import { createPool } from '../db/client.js';
import { DEFAULT_EF_SEARCH, DEFAULT_INDEX_TYPE, INDEX_TYPES } from '../db/hnsw.js';
import { renderText } from '../report/markdown.js';
import type { BenchmarkReport } from '../report/schema.js';
import { SEARCH_BENCHMARK_DEFAULTS, searchBenchmark, type SearchBenchmarkInput } from '../workflows/search-benchmark.js';
import { textTable } from './format.js';
import { formatRunway, runwayReport } from './runway.js';
import { choiceListOption, CLI_RANGES, commandGroup, intListOption, intOption, numberOption, waitWorkerOption } from './parse.js';
import { runWorkflowCommand } from './run-workflow.js';

/** `bench search` and its flags under `parent` (whose exit and help settings it takes); registerBenchmarkCommands gives it its action. */
function benchSearchCommand(parent: CommandUnknownOpts) {
  return new Command('search')
    .copyInheritedSettings(parent)
    .description('searchBenchmark workflow: recall, serial latency per ef_search, concurrency sweep, optional HTTP load; exit 1 on a fail verdict')
    .option('--ef-search <list>', 'ef_search values, comma-separated (default 40,64,100,128,200)', intListOption('--ef-search', CLI_RANGES.efSearch))
    .option('--production-ef <n>', `the production ef_search the verdict uses (default: the search path's, ${DEFAULT_EF_SEARCH})`, intOption('--production-ef', CLI_RANGES.efSearch))
    .option('--index-type <list>', `HNSW index to measure: vector or halfvec (default ${DEFAULT_INDEX_TYPE}); two, comma-separated, also compares them side by side (each rebuilt and timed)`, choiceListOption('--index-type', INDEX_TYPES))
    .option('--compare-index-types', 'compare every index type side by side: size, build time, p50/p99, recall@10, re-rank recall')
    .option('--concurrency <list>', 'client counts, comma-separated (default 1,2,4,8)', intListOption('--concurrency', CLI_RANGES.clients))
    .option('--concurrency-seconds <n>', 'seconds per concurrency level (default 10)', intOption('--concurrency-seconds', CLI_RANGES.seconds))
    .option('--raw-rounds <n>', 'alternating search / raw floor rounds per client count (default 3)', intOption('--raw-rounds', { min: 1, max: 20 }))
    .option('--raw-round-seconds <n>', 'seconds per statement per round (default 5)', intOption('--raw-round-seconds', CLI_RANGES.seconds))
    .option('--queries <n>', 'held-out queries (default 1000)', intOption('--queries', CLI_RANGES.count))
    .option('--query-seed <n>', 'seed of the query set (default 7)', intOption('--query-seed', CLI_RANGES.seed))
    .option('--k <n>', 'results per search; recall and re-rank recall are judged at it (default 10)', intOption('--k', CLI_RANGES.benchmarkK))
    .option('--warmup <n>', 'warm-up queries before measuring (default: the query count)', intOption('--warmup', CLI_RANGES.count))
    .option('--no-prewarm', 'do not pg_prewarm the index first (a cold-cache run)')
    .option('--run-key <key>', 'capacity run key the queries are drawn for (default: capacityPopulation\'s for --total)')
    .option('--total <n>', 'capacity rows of the dataset (default 100000)', intOption('--total', CLI_RANGES.traces))
    .option('--clusters <n>', 'clusters of the dataset (default 1000)', intOption('--clusters', CLI_RANGES.count))
    .option('--sigma <x>', 'noise of the dataset (default 0.05)', numberOption('--sigma', { min: 0, max: 1 }))
    .option('--generator-seed <n>', 'generator seed of the dataset (default 42)', intOption('--generator-seed', CLI_RANGES.seed))
    .option('--sql-p99-ms <ms>', 'threshold: SQL p99 at the production ef_search below this (default 50)', numberOption('--sql-p99-ms', CLI_RANGES.milliseconds))
    .option('--recall-mean <r>', 'threshold: recall@10 mean at least this (default 0.95)', numberOption('--recall-mean', CLI_RANGES.ratio))
    .option('--rerank-recall-mean <r>', 'threshold: re-rank recall mean at least this (default 0.99)', numberOption('--rerank-recall-mean', CLI_RANGES.ratio))
    .option('--filtered-recall-mean <r>', 'threshold: filtered recall@10 mean at each tag selectivity at least this (default 0.9)', numberOption('--filtered-recall-mean', CLI_RANGES.ratio))
    .option('--max-p99-ratio <x>', 'threshold: search / raw floor serial p99 at most this (default 1.3)', numberOption('--max-p99-ratio', CLI_RANGES.factor))
    .option('--min-qps-ratio <x>', 'threshold: search / raw floor QPS at 2 clients at least this (default 0.8)', numberOption('--min-qps-ratio', CLI_RANGES.factor))
    .option('--http-p99-ms <ms>', 'threshold: HTTP p99 below this (default 50)', numberOption('--http-p99-ms', CLI_RANGES.milliseconds))
    .option('--error-rate <r>', 'threshold: error rate at most this (default 0)', numberOption('--error-rate', CLI_RANGES.ratio))
    .option('--http', 'load the API the worker serves (config API_HOST/API_PORT)')
    .option('--http-url <url>', 'load the search API at this base URL')
    .option('--http-users <n>', 'users, each with its own key (default 20)', intOption('--http-users', { min: 1, max: 1_000 }))
    .option('--http-seconds <n>', 'seconds of HTTP load (default 20)', intOption('--http-seconds', CLI_RANGES.seconds))
    .option('--http-rate <r>', 'open loop at this many requests/s per user (default 3, within the read quota); 0 = closed loop', numberOption('--http-rate', CLI_RANGES.requestsPerSecond))
    .option('--mixed', 'after the HTTP phases, search while writing: the same HTTP load plus contributions and the embedding backfill (implies --http)')
    .option('--writes-per-minute <n>', `--mixed: contributions per minute over all writers, each at most ${SEARCH_BENCHMARK_DEFAULTS.mixed.maxPerWriterPerMinute}/min (default ${SEARCH_BENCHMARK_DEFAULTS.mixed.writesPerMinute}; implies --mixed)`, numberOption('--writes-per-minute', WRITES_PER_MINUTE_RANGE))
    .option('--reports-dir <dir>', 'where reports/<run>/ goes (default reports)')
    .option('--json', 'print the result as JSON')
    .addOption(waitWorkerOption());
}

/** The flags of `bench search` as commander parses them. */
export type BenchSearchOptions = ReturnType<ReturnType<typeof benchSearchCommand>['opts']>;

const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/**
 * --index-type a[,b]: the first is the type every phase measures; more than one (or
 * --compare-index-types, which adds the others) also compares them side by side.
 */
export function indexTypeInput(o: Pick<BenchSearchOptions, 'indexType' | 'compareIndexTypes'>): Pick<SearchBenchmarkInput, 'indexType' | 'compareIndexTypes'> {
  const listed = o.indexType ?? [];
  const types = o.compareIndexTypes ? [...new Set([...(listed.length > 0 ? listed : [DEFAULT_INDEX_TYPE]), ...INDEX_TYPES])] : listed;
  return {
    ...(types[0] && { indexType: types[0] }),
    ...(types.length > 1 && { compareIndexTypes: types }),
  };
}

export function searchBenchmarkInput(o: BenchSearchOptions): SearchBenchmarkInput {
  const dataset = defined({ runKey: o.runKey, total: o.total, clusters: o.clusters, sigma: o.sigma, generatorSeed: o.generatorSeed });
  const thresholds = defined({
    sqlP99Ms: o.sqlP99Ms, recallMean: o.recallMean, rerankRecallMean: o.rerankRecallMean, filteredRecallMean: o.filteredRecallMean,
    maxSerialP99Ratio: o.maxP99Ratio, minQpsRatio: o.minQpsRatio,
    httpP99Ms: o.httpP99Ms, errorRate: o.errorRate,
  });
  // The mixed phase is the HTTP load with writes alongside: asking for it asks for the HTTP load too.
  const wantsMixed = o.mixed === true || o.writesPerMinute !== undefined;
  const wantsHttp = o.http || o.httpUrl !== undefined || wantsMixed;
  return {
    ...defined({
      efSearch: o.efSearch, concurrency: o.concurrency, concurrencySeconds: o.concurrencySeconds, queryCount: o.queries, querySeed: o.querySeed,
      rawFloorRounds: o.rawRounds, rawFloorRoundSeconds: o.rawRoundSeconds,
      productionEfSearch: o.productionEf, k: o.k, warmupQueries: o.warmup, reportsDir: o.reportsDir,
    }),
    prewarm: o.prewarm,
    ...indexTypeInput(o),
    ...(Object.keys(dataset).length > 0 && { dataset }),
    ...(Object.keys(thresholds).length > 0 && { thresholds }),
    ...(wantsHttp && {
      // --http-rate 0 asks for the closed loop: users send back to back (the API's throughput ceiling).
      http: defined({ baseUrl: o.httpUrl, users: o.httpUsers, seconds: o.httpSeconds, ratePerUser: o.httpRate === 0 ? null : o.httpRate }),
    }),
    ...(wantsMixed && { mixed: defined({ writesPerMinute: o.writesPerMinute }) }),
  };
}

const fmtFigure = (metric: string, v: number | null) => (v === null ? '—' : /recall|rate|share/.test(metric) ? v.toFixed(3) : v.toFixed(2));

function fmtChange(r: ComparisonRow): string {
  if (r.delta === null) return '—';
  const sign = r.delta >= 0 ? '+' : '';
  const rel = r.relative !== null && !/recall|rate|share/.test(r.metric) ? ` (${sign}${(r.relative * 100).toFixed(1)}%)` : '';
  return `${sign}${fmtFigure(r.metric, r.delta)}${rel}`;
}

export function formatComparison(c: Comparison): string {
  const table = textTable(['metric', c.a, c.b, 'change', 'flag'], c.rows.map((r) => [r.metric, fmtFigure(r.metric, r.a), fmtFigure(r.metric, r.b), fmtChange(r), r.flag ?? '']));
  const caveats = c.caveats.map((x) => `caveat: ${x}`);
  const verdict = c.regressions.length === 0 ? 'no regressions' : `${c.regressions.length} regression(s): ${c.regressions.map((r) => `${r.metric}: ${r.flag}`).join('; ')}`;
  return [`compare ${c.a} → ${c.b}`, table, ...caveats, verdict].join('\n');
}

async function withPool<T>(config: Config, fn: (pool: ReturnType<typeof createPool>) => Promise<T>): Promise<T> {
  const pool = createPool(config.databaseUrl, { max: 2 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

export function registerBenchmarkCommands(program: CommandUnknownOpts, config: () => Config): void {
  const bench = commandGroup(program, 'bench', 'benchmarks with stored, comparable reports');

  bench.addCommand(
    benchSearchCommand(bench).action(async (opts) => {
        process.exitCode = await runWorkflowCommand(config(), {
          workflow: searchBenchmark,
          idPrefix: 'search-benchmark',
          input: searchBenchmarkInput(opts),
          staticSummary: 'Search benchmark: recall, latency per ef_search, concurrency, HTTP',
          json: opts.json,
          waitWorker: opts.waitWorker,
          format: (r) => `${renderText(r.report)}\n\nreport: ${r.files.html}`,
          exitCode: (r) => (r.verdict === 'pass' ? 0 : 1),
        });
      }),
  );

  bench
    .command('report [run]')
    .description('print a stored benchmark run (name, uuid, latest, previous, or a report.json path); --compare <a> <b> diffs two runs')
    .option('--compare <runs...>', 'compare two runs: flags p99 regressions and recall drops; exit 1 when any is flagged')
    .option('--p99-regression-pct <pct>', `flag a p99 that grew by more than this (default ${DEFAULT_COMPARE_LIMITS.p99RegressionPct})`, numberOption('--p99-regression-pct', CLI_RANGES.percent))
    .option('--recall-drop <r>', `flag a recall@10 mean that fell by more than this (default ${DEFAULT_COMPARE_LIMITS.recallDrop})`, numberOption('--recall-drop', CLI_RANGES.ratio))
    .option('--runway', 'capacity runway: fit the stored re-check runs and project when the index outgrows shared_buffers, the build spills past maintenance_work_mem and p99 reaches the SLO; writes reports/runway/runway.html')
    .option('--reports-dir <dir>', 'where --runway writes runway/runway.html (default reports)')
    .option('--json', 'print as JSON')
    .action(async (run, opts) => {
      await withPool(config(), async (pool) => {
        if (opts.runway) {
          if (run !== undefined || opts.compare) throw new Error('--runway reads every stored re-check run: give it no run and no --compare');
          const runway = await runwayReport(pool, opts.reportsDir);
          console.log(opts.json ? JSON.stringify(runway, null, 2) : formatRunway(runway));
          return;
        }
        if (opts.compare) {
          if (opts.compare.length !== 2 || run !== undefined) throw new Error('--compare takes exactly two runs: bench report --compare <a> <b>');
          const [a, b] = await Promise.all(opts.compare.map((ref) => loadBenchmarkRun(pool, ref)));
          const comparison = compareReports(a!, b!, {
            p99RegressionPct: opts.p99RegressionPct ?? DEFAULT_COMPARE_LIMITS.p99RegressionPct,
            recallDrop: opts.recallDrop ?? DEFAULT_COMPARE_LIMITS.recallDrop,
          });
          console.log(opts.json ? JSON.stringify(comparison, null, 2) : formatComparison(comparison));
          process.exitCode = comparison.regressions.length === 0 ? 0 : 1;
          return;
        }
        const report: BenchmarkReport = await loadBenchmarkRun(pool, run ?? 'latest');
        console.log(opts.json ? JSON.stringify(report, null, 2) : renderText(report));
      });
    });
}
