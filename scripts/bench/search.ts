/**
 * bench:search — the search benchmark end to end, against the raw pgvector floor on the same data.
 *
 * 1. In a dedicated capacity database (commontrace_bench_search), sets up or reuses capacity data of
 *    --total rows, with the seeds among them, through the real workflows (capacityPopulation,
 *    indexBuild) on an in-process worker: the same data the launch measures.
 * 2. Serves the search API in a child process (local embedder, a read quota far above the offered
 *    load, so the limiter runs on every request but never refuses) and runs the searchBenchmark
 *    workflow: ground truth, warm-up, serial latency and recall per ef_search, filtered search at the
 *    capacity tags' two selectivities (~10%, ~1%), the concurrency sweep and the HTTP load. It stores the run and writes reports/<run>/report.{json,md,html}.
 *    The raw pgvector floor (ORDER BY embedding <=> $1 LIMIT k on a bare connection) is measured in
 *    the same run on the same data: interleaved with the search statement in the serial passes, at
 *    1 and 2 clients in the sweep; after the open-loop HTTP load, a closed loop on 2 connections
 *    finds the API's ceiling. The verdict compares the service with that floor.
 *
 *   npm run bench:search -- [--total 100000] [--queries 1000] [--ef-search 40,64,100,128,200]
 *     [--concurrency 1,2,4,8] [--concurrency-seconds 10] [--k 10] [--http-users 20] [--http-seconds 20]
 *     [--http-rate 3 (0 = closed loop)] [--ceiling-seconds 10 (0 = skip)] [--http-url URL | --no-http]
 *     [--mixed [--writes-per-minute 60]] [--index-type vector|halfvec|vector,halfvec] [--json]
 *
 * --mixed adds, after the HTTP phases, search while writing: the same HTTP load with contributions
 * through the write endpoint and the embedding backfill alongside (the API's write quota is its
 * default, 20 per minute per user; the writers stay within it). The HTTP phase runs unless --no-http.
 *
 * --index-type: the HNSW index every phase measures (the first listed); two also compare them side
 * by side (the report's "Index type" section: each rebuilt and timed, then size, p50/p99, recall@10
 * and re-rank recall at the production ef_search against the same ground truth).
 *
 * The data stays for the next run (re-runs reuse it and the cached ground truth); drop the database
 * to start over. Capacity data of another --total in that database is cleaned up first.
 */
import type { Client } from '@temporalio/client';
import { formatBytes } from '../../src/bytes.js';
import { loadConfig, redactUrl, type Config } from '../../src/config.js';
import { createPool } from '../../src/db/client.js';
import { choiceListOption, CLI_RANGES, intListOption, intOption, newProgram, numberOption } from '../../src/cli/parse.js';
import { DEFAULT_INDEX_TYPE, INDEX_TYPES, type IndexType } from '../../src/db/hnsw.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { createWorker } from '../../src/worker.js';
import { connectClient } from '../../src/temporal.js';
import { BENCH_DATABASE } from './search-database.js';
import { EMBEDDING_DIMENSIONS } from '../../src/db/constants.js';
import { renderText } from '../../src/report/markdown.js';
import { capacityPopulation, CAPACITY_DEFAULTS, defaultRunKey } from '../../src/workflows/capacity-population.js';
import { countRunRows } from '../../src/capacity/population.js';
import { capacityCleanup } from '../../src/workflows/capacity-cleanup.js';
import { buildDuration, indexBuild } from '../../src/workflows/index-build.js';
import { searchBenchmark, type SearchBenchmarkInput } from '../../src/workflows/search-benchmark.js';
import { clustersFor } from '../../src/workflows/launch-criteria.js';
import { startChildApi, type ChildApi } from '../../src/api/child.js';
import { WRITES_PER_MINUTE_RANGE } from '../../src/benchmark/mixed-plan.js';

/** Far above what the users can send in the run (and the config's ceiling): every request pays the limiter, none is refused. */
const BENCH_READ_LIMIT = 1_000_000;

const log = (m: string) => console.error(`[bench:search] ${m}`);

/** Every flag is checked before anything starts: a bad value exits 2 with its range. */
const options = newProgram('bench:search')
  .option('--total <n>', 'capacity rows', intOption('--total', CLI_RANGES.traces), 100_000)
  .option('--database <name>', 'the bench database', BENCH_DATABASE)
  .option('--queries <n>', 'held-out queries', intOption('--queries', CLI_RANGES.count), 1_000)
  .option('--ef-search <list>', 'ef_search values, comma-separated', intListOption('--ef-search', CLI_RANGES.efSearch), [40, 64, 100, 128, 200])
  .option('--concurrency <list>', 'client counts, comma-separated', intListOption('--concurrency', CLI_RANGES.clients), [1, 2, 4, 8])
  .option('--concurrency-seconds <n>', 'seconds per concurrency level', intOption('--concurrency-seconds', CLI_RANGES.seconds), 10)
  .option('--k <n>', "results per search (default: the workflow's)", intOption('--k', CLI_RANGES.benchmarkK))
  .option('--ceiling-seconds <n>', 'seconds of the closed-loop API ceiling; 0 skips it', intOption('--ceiling-seconds', CLI_RANGES.waitWorkerSeconds), 10)
  .option('--http-users <n>', 'HTTP users, each with its own key', intOption('--http-users', { min: 1, max: 1_000 }), 20)
  .option('--http-seconds <n>', 'seconds of HTTP load', intOption('--http-seconds', CLI_RANGES.seconds), 20)
  .option('--http-rate <r>', 'requests/s per user; 0 = closed loop', numberOption('--http-rate', CLI_RANGES.requestsPerSecond), 3)
  .option('--http-url <url>', 'load the search API at this base URL instead of a child API')
  .option('--no-http', 'skip the HTTP load')
  .option('--mixed', 'after the HTTP phases, search while writing (HTTP load plus contributions and the embedding backfill)')
  .option('--writes-per-minute <n>', 'contributions per minute in the mixed phase (implies --mixed)', numberOption('--writes-per-minute', WRITES_PER_MINUTE_RANGE))
  .option('--index-type <list>', 'HNSW index to measure: vector or halfvec; two, comma-separated, compare them side by side', choiceListOption('--index-type', INDEX_TYPES), [DEFAULT_INDEX_TYPE])
  .option('--json', 'print the result as JSON')
  .parse()
  .opts();
const wantsMixed = options.mixed === true || options.writesPerMinute !== undefined;
if (wantsMixed && !options.http) {
  console.error('[bench:search] --mixed runs the HTTP load with writes: it cannot go with --no-http');
  process.exit(2);
}

/** The bench's own database is its capacity database; the live one only stores the report. */
function benchConfig(base: Config, database: string): Config {
  const url = new URL(base.databaseUrl);
  url.pathname = `/${database}`;
  return {
    ...base,
    capacityDatabaseUrl: url.toString(),
    // Offline and deterministic: the synthetic vectors carry this model id, and the API embeds with it.
    embedding: { provider: 'local' },
    temporal: { ...base.temporal, taskQueue: `bench-search-${process.pid}` },
  };
}

async function execute<I, R>(client: Client, config: Config, workflow: (input: I) => Promise<R>, input: I, workflowId = `${workflow.name}-${Date.now()}`): Promise<R> {
  log(`${workflow.name} ${workflowId} …`);
  return client.workflow.execute(workflow, { taskQueue: config.temporal.taskQueue, workflowId, args: [input] });
}

async function main(): Promise<void> {
  const base = loadConfig();
  if (base.appEnv === 'production') throw new Error('bench:search loads synthetic data into its own database; run it on a local stack, not APP_ENV=production');
  const config = benchConfig(base, options.database);
  const total = options.total;
  // As many clusters as the launch uses at this scale, so both measure the same data.
  const clusters = clustersFor(total);
  const runKey = defaultRunKey({ ...CAPACITY_DEFAULTS, total, clusters });

  log(`database ${redactUrl(config.capacityDatabaseUrl)}, ${total} × ${EMBEDDING_DIMENSIONS} vectors (run key ${runKey})`);
  await migrateDatabase(config.capacityDatabaseUrl);
  const pool = createPool(config.capacityDatabaseUrl, { max: 4 });
  log('starting an in-process worker (bundling workflows) …');
  const worker = await createWorker(config);
  const running = worker.worker.run();
  let client: Client | undefined;
  let api: ChildApi | undefined;
  try {
    client = await connectClient(config);
    // capacityPopulation gives the database the seeds too (embedded with the local model): the HTTP
    // phase's golden queries find them among the capacity rows, as an agent's queries find real content.
    const { rows: ledger } = await pool.query<{ run_key: string; rows: number }>('SELECT run_key, sum(rows)::int AS rows FROM capacity_batches GROUP BY run_key');
    if (ledger.some((l) => l.run_key !== runKey)) {
      log(`capacity data of other runs present (${ledger.map((l) => `${l.run_key}: ${l.rows}`).join(', ')}): cleaning up first`);
      await execute(client, config, capacityCleanup, {});
    }
    // Complete when the rows are there, whatever the ledger says.
    const complete = ledger.find((l) => l.run_key === runKey)?.rows === total && (await countRunRows(pool, runKey, total)) === total;
    // Reused data keeps its index: dropping it would only force a rebuild of the same graph.
    const population = await execute(client, config, capacityPopulation, { total, clusters, runKey, dropIndex: !complete });
    log(`capacity: ${population.rowsInserted} inserted, ${population.rowsAlreadyPresent} reused (${population.rowsPerSecond} rows/s)`);
    const [indexType, ...others] = options.indexType as [IndexType, ...IndexType[]];
    // A comparison builds (and times) every type inside the benchmark itself.
    const index = others.length > 0 ? null : await execute(client, config, indexBuild, { prewarm: true, indexType });
    if (index) log(`${indexType} index: ${index.built ? `built in ${buildDuration(index)}` : 'reused'}, ${formatBytes(index.indexBytes)}, planner uses it: ${index.usedByPlanner}`);

    let http: SearchBenchmarkInput['http'] = null;
    if (options.httpUrl) {
      http = { baseUrl: options.httpUrl };
    } else if (options.http) {
      api = await startChildApi({ DATABASE_URL: config.capacityDatabaseUrl, CAPACITY_DATABASE_URL: '', EMBEDDING_PROVIDER: 'local', SEARCH_INDEX_TYPE: indexType, RATE_LIMIT_READ_PER_MINUTE: String(BENCH_READ_LIMIT), RATE_LIMIT_REGISTER_PER_MINUTE: '1000' });
      log(`search API in child process ${api.pid} on ${api.url} (read quota ${BENCH_READ_LIMIT}/min per user)`);
      http = { baseUrl: api.url };
    }
    if (http) {
      http = {
        ...http,
        users: options.httpUsers,
        seconds: options.httpSeconds,
        // 0: a closed loop, users sending back to back (the API's throughput ceiling, not its latency).
        ratePerUser: options.httpRate === 0 ? null : options.httpRate,
      };
    }
    const input: SearchBenchmarkInput = {
      dataset: { runKey, total, clusters },
      indexType,
      ...(others.length > 0 && { compareIndexTypes: options.indexType }),
      queryCount: options.queries,
      efSearch: options.efSearch,
      concurrency: options.concurrency,
      concurrencySeconds: options.concurrencySeconds,
      ...(options.k !== undefined && { k: options.k }),
      http,
      httpCeiling: http && options.ceilingSeconds > 0 ? { seconds: options.ceilingSeconds } : null,
      mixed: wantsMixed ? { ...(options.writesPerMinute !== undefined && { writesPerMinute: options.writesPerMinute }) } : null,
      context: {
        ...(population.rowsInserted > 0 && { loadRowsPerSecond: population.rowsPerSecond }),
        ...(index?.built && { indexBuildSeconds: index.buildSeconds }),
      },
    };
    const result = await execute(client, config, searchBenchmark, input, `bench-search-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    await api?.stop();
    api = undefined;

    const { report, files } = result;
    if (options.json) {
      console.log(JSON.stringify({ ...report, files }, null, 2));
    } else {
      console.log(`\n${renderText(report)}`);
      console.log(`report: ${files.html}`);
    }
    process.exitCode = report.verdict === 'pass' ? 0 : 1;
  } finally {
    // The HTTP load's users are not this script's to clean up: the runHttpBenchmark activity that
    // registered them deleted them through the API (and their buckets) before it returned or failed.
    await api?.stop();
    await client?.connection.close();
    worker.worker.shutdown();
    await running;
    await worker.close();
    await pool.end();
  }
}

main().catch((err: Error) => {
  console.error(`[bench:search] ${err.stack ?? err.message}`);
  process.exit(1);
});
