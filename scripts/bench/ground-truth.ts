/**
 * bench:ground-truth — how long the benchmark's exact ground truth (top-10 by similarity and by
 * re-rank score) takes in process, against an estimate of one exact SQL scan per query (the SQL path).
 *
 *   npm run bench:ground-truth -- [--total 100000] [--queries 1000] [--lanes 2] [--clusters 1000] [--old-sample 5]
 *
 * Runs in its own database, commontrace_bench_ground_truth on DATABASE_URL's server (default
 * postgresql://postgres@127.0.0.1:55432). The first run fills it with `total` synthetic capacity rows
 * (unit vectors, binary COPY, no HNSW index: the exact paths do not use it); later runs reuse them.
 * The cached ground truth is deleted first, so every run computes it.
 */
import pg from 'pg';
import pLimit from 'p-limit';
import { loadConfig, redactUrl } from '../../src/config.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { LOCAL_MODEL_ID } from '../../src/embeddings/local.js';
import { describeCentreSource, loadCentres } from '../../src/capacity/centres.js';
import { dropHnswIndex } from '../../src/capacity/index-build.js';
import { ensureCapacityContributor, writeCapacityBatch } from '../../src/capacity/population.js';
import { computeGroundTruth, exactSqlNeighbours, GROUND_TRUTH_K, sampleQueries, searchableCount } from '../../src/benchmark/ground-truth.js';
import { SWAP_TOLERANCE } from '../../src/benchmark/exact/compare.js';
import { groundTruthKey, loadQuerySet, type QuerySetSpec } from '../../src/benchmark/query-set.js';
import { CLI_RANGES, intOption, newProgram } from '../../src/cli/parse.js';
import { textTable } from '../../src/cli/format.js';

const DATABASE = 'commontrace_bench_ground_truth';
const DIMENSIONS = 1536;
const SIGMA = 0.05;
const GENERATOR_SEED = 42;
const QUERY_SEED = 7;
const BATCH_SIZE = 2_000;
const TARGET_SECONDS = 90;

const args = newProgram('bench:ground-truth')
  .option('--total <n>', 'capacity rows', intOption('--total', CLI_RANGES.traces), 100_000)
  .option('--queries <n>', 'held-out queries', intOption('--queries', CLI_RANGES.count), 1_000)
  .option('--lanes <n>', 'parallel lanes of the exact scan', intOption('--lanes', CLI_RANGES.clients), 2)
  .option('--clusters <n>', 'clusters of the synthetic data', intOption('--clusters', CLI_RANGES.count), 1_000)
  .option('--old-sample <n>', 'queries the SQL path is timed on, then extrapolated', intOption('--old-sample', CLI_RANGES.count), 5)
  .parse()
  .opts();
const TOTAL = args.total;
const QUERIES = args.queries;
const LANES = args.lanes;
const CLUSTERS = args.clusters;
const OLD_SAMPLE = args.oldSample;
const RUN_KEY = `bench-ground-truth-${TOTAL}x${DIMENSIONS}-c${CLUSTERS}`;

const log = (m: string) => console.error(`[bench:ground-truth] ${m}`);
const seconds = (since: number) => (performance.now() - since) / 1000;

function benchDatabaseUrl(): string {
  const url = new URL(loadConfig().databaseUrl);
  url.pathname = `/${DATABASE}`;
  return url.toString();
}

/** Makes the database hold exactly this run's TOTAL rows, writing only the batches still missing. */
async function ensureRows(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{ n: number }>('SELECT coalesce(sum(rows), 0)::int AS n FROM capacity_batches WHERE run_key = $1', [RUN_KEY]);
  const recorded = rows[0]!.n;
  if ((await searchableCount(pool, LOCAL_MODEL_ID)) !== recorded) {
    log('the database holds rows of another run: emptying it');
    await pool.query('TRUNCATE traces, capacity_batches CASCADE');
  }
  if (recorded === TOTAL) return;
  // Row-by-row HNSW maintenance would dominate the fill; nothing here reads the index.
  await dropHnswIndex(pool);
  const centreSpec = { clusters: CLUSTERS, dimensions: DIMENSIONS, generatorSeed: GENERATOR_SEED };
  const centres = loadCentres(centreSpec, describeCentreSource(centreSpec));
  const target = { modelId: LOCAL_MODEL_ID, contributorId: await ensureCapacityContributor(pool) };
  const batches = Math.ceil(TOTAL / BATCH_SIZE);
  const started = performance.now();
  await pLimit(LANES).map(Array.from({ length: batches }, (_, i) => i), async (batchIndex) => {
    const spec = { runKey: RUN_KEY, batchIndex, batchSize: BATCH_SIZE, total: TOTAL, dimensions: DIMENSIONS, clusters: CLUSTERS, sigma: SIGMA, generatorSeed: GENERATOR_SEED };
    await writeCapacityBatch(pool, spec, centres, target);
    if (batchIndex % 10 === 9) log(`filled ${Math.min(TOTAL, (batchIndex + 1) * BATCH_SIZE)} of ${TOTAL} rows`);
  });
  await pool.query('VACUUM (ANALYZE) traces');
  log(`filled ${TOTAL} rows in ${seconds(started).toFixed(1)} s`);
}

async function main(): Promise<void> {
  const databaseUrl = benchDatabaseUrl();
  log(`database ${redactUrl(databaseUrl)}`);
  await migrateDatabase(databaseUrl);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: LANES + 1 });
  try {
    await ensureRows(pool);
    const traceCount = await searchableCount(pool, LOCAL_MODEL_ID);
    const spec: QuerySetSpec = {
      dataset: { runKey: RUN_KEY, dimensions: DIMENSIONS, clusters: CLUSTERS, sigma: SIGMA, generatorSeed: GENERATOR_SEED },
      queryCount: QUERIES,
      querySeed: QUERY_SEED,
      modelId: LOCAL_MODEL_ID,
    };
    const set = await loadQuerySet(pool, spec);
    const cacheKey = groundTruthKey(spec, set.centres, traceCount);
    await pool.query('DELETE FROM benchmark_ground_truth WHERE cache_key = $1', [cacheKey]);

    log(`ground truth: ${QUERIES} queries × ${traceCount} rows on ${LANES} lanes`);
    let lastLog = performance.now();
    const truth = await computeGroundTruth(pool, set, {
      databaseUrl, cacheKey, traceCount, lanes: LANES,
      onProgress: (done, total) => {
        if (performance.now() - lastLog < 10_000) return;
        lastLog = performance.now();
        log(`  ${done} of ${total} queries`);
      },
    });

    // The SQL path: one exact scan per query, `lanes` at a time. Timed on a few queries, extrapolated.
    log(`timing ${OLD_SAMPLE} exact SQL scans (the SQL path) for the estimate`);
    const client = new pg.Client({ connectionString: databaseUrl, application_name: 'bench:ground-truth old path' });
    await client.connect();
    const sqlSeconds: number[] = [];
    try {
      for (const q of sampleQueries(QUERIES, OLD_SAMPLE)) {
        const t0 = performance.now();
        await exactSqlNeighbours(client, set.params[q]!, LOCAL_MODEL_ID);
        sqlSeconds.push(seconds(t0));
      }
    } finally {
      await client.end();
    }
    const meanSql = sqlSeconds.reduce((a, b) => a + b, 0) / sqlSeconds.length;
    const oldEstimate = (meanSql * QUERIES) / LANES;

    const { phases, verification: v } = truth;
    const rate = (traceCount * QUERIES) / phases.computeSeconds;
    console.log(textTable(['', 'measured'], [
      ['rows', `${traceCount} × ${DIMENSIONS} dimensions`],
      ['queries', `${QUERIES} (top-${GROUND_TRUTH_K} by similarity and by re-rank score)`],
      ['load (binary COPY)', `${phases.loadSeconds.toFixed(2)} s`],
      ['compute', `${phases.computeSeconds.toFixed(2)} s on ${LANES} worker threads`],
      ['rate', `${(rate / 1e6).toFixed(1)} M query×row dot products/s (${((rate * DIMENSIONS) / 1e9).toFixed(1)} G multiply-adds/s)`],
      ['sample verification', `${v.queries.length} queries agree with PostgreSQL's exact scan in ${(phases.verifySeconds).toFixed(2)} s ` +
        `(${v.swaps} tie swaps within ${SWAP_TOLERANCE}, max |Δ similarity| ${v.maxSimilarityDelta.toExponential(1)})`],
      ['plan of the exact scan', truth.planNode],
      ['ground truth total', `${truth.seconds.toFixed(2)} s (target ≤ ${TARGET_SECONDS} s: ${truth.seconds <= TARGET_SECONDS ? 'met' : 'MISSED'})`],
      ['old SQL path (estimate)', `${oldEstimate.toFixed(0)} s (${OLD_SAMPLE} exact scans, mean ${meanSql.toFixed(2)} s, × ${QUERIES} queries ÷ ${LANES} lanes)`],
      ['speed-up', `${(oldEstimate / truth.seconds).toFixed(1)}×`],
    ]));
  } finally {
    await pool.end();
  }
}

main().catch((err: Error) => {
  console.error(`[bench:ground-truth] failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
