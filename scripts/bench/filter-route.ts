/**
 * bench:filter-route — what EXACT_FILTER_MAX_ROWS is chosen from: for each capacity tag, the held-out
 * queries through the search statement twice, on the same connection settings the API uses, once
 * forced onto each route (exactFilterMaxRows = 0: HNSW with iterative scans; = every row: exact),
 * interleaved query by query. Prints the tag's rows, each route's p50/p99, and the HNSW route's
 * recall@k against the exact route's answer (the exact re-ranked top k among the tag's rows).
 *
 *   npm run bench:filter-route -- [--database commontrace_bench_search] [--total 100000] [--queries 200]
 *
 * Reads the data `npm run bench:search -- --total N` left in its database; writes nothing.
 */
import pg from 'pg';
import { loadConfig, redactUrl } from '../../src/config.js';
import { withDatabase } from '../../src/db/database-url.js';
import { DEFAULT_EF_SEARCH, servingSessionOptions } from '../../src/db/hnsw.js';
import { EMBEDDING_DIMENSIONS } from '../../src/db/constants.js';
import { CLI_RANGES, intOption, newProgram } from '../../src/cli/parse.js';
import { loadQuerySet } from '../../src/benchmark/query-set.js';
import { createLatencyHistogram, recallAtK, recordMs, summarizeLatency } from '../../src/benchmark/stats.js';
import { CAPACITY_TAGS } from '../../src/capacity/tag-shares.js';
import { LOCAL_MODEL_ID } from '../../src/embeddings/local.js';
import { searchByEncodedVector } from '../../src/search/search.js';
import { searchIndexType } from '../../src/search/index-type.js';
import { clustersFor } from '../../src/workflows/launch-criteria.js';
import { CAPACITY_DEFAULTS, defaultRunKey } from '../../src/workflows/capacity-population.js';
import { SEARCH_BENCHMARK_DEFAULTS } from '../../src/workflows/search-benchmark.js';
import { BENCH_DATABASE } from './search-database.js';

const K = 10;
const options = newProgram('bench:filter-route')
  .option('--database <name>', 'the database bench:search filled', BENCH_DATABASE)
  .option('--total <n>', 'the capacity rows bench:search loaded there (names the query set)', intOption('--total', CLI_RANGES.traces), 100_000)
  .option('--queries <n>', 'held-out queries per tag', intOption('--queries', CLI_RANGES.count), 200)
  .parse()
  .opts();

async function main(): Promise<void> {
  const url = withDatabase(new URL(loadConfig().databaseUrl), options.database);
  const client = new pg.Client({ connectionString: url, options: servingSessionOptions() });
  await client.connect();
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    const clusters = clustersFor(options.total);
    const dataset = {
      runKey: defaultRunKey({ ...CAPACITY_DEFAULTS, total: options.total, clusters }),
      dimensions: EMBEDDING_DIMENSIONS, clusters, sigma: CAPACITY_DEFAULTS.sigma, generatorSeed: CAPACITY_DEFAULTS.generatorSeed,
    };
    const set = await loadQuerySet(pool, { dataset, queryCount: options.queries, querySeed: SEARCH_BENCHMARK_DEFAULTS.querySeed, modelId: LOCAL_MODEL_ID });
    const indexType = await searchIndexType(client);
    console.log(`${redactUrl(url)}: ${indexType} index, ef_search ${DEFAULT_EF_SEARCH}, ${set.params.length} queries per tag, top ${K}`);
    console.log('tag              rows   exact p50   exact p99   HNSW p50   HNSW p99   HNSW recall@10');
    for (const { name } of CAPACITY_TAGS) {
      const { rows } = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id WHERE tg.name = $1', [name]);
      const tagged = rows[0]!.n;
      const exact = createLatencyHistogram();
      const hnsw = createLatencyHistogram();
      const recalls: number[] = [];
      const search = async (q: number, exactFilterMaxRows: number) => {
        const t0 = performance.now();
        const r = await searchByEncodedVector(client, set.params[q]!, { modelId: LOCAL_MODEL_ID, k: K, efSearch: DEFAULT_EF_SEARCH, tags: [name], indexType, exactFilterMaxRows });
        return { ms: performance.now() - t0, ids: r.hits.map((h) => h.id), exact: r.exact };
      };
      for (let q = 0; q < set.params.length; q++) {
        // Alternating which route goes first, so neither always finds the other's pages cached.
        let e;
        let h;
        if (q % 2 === 0) {
          e = await search(q, tagged);
          h = await search(q, 0);
        } else {
          h = await search(q, 0);
          e = await search(q, tagged);
        }
        if (!e.exact || h.exact) throw new Error(`query ${q} on ${name}: the forced routes did not run (exact ${e.exact}, HNSW ${!h.exact})`);
        recordMs(exact, e.ms);
        recordMs(hnsw, h.ms);
        recalls.push(recallAtK(h.ids, e.ids, K));
      }
      const [el, hl] = [summarizeLatency(exact), summarizeLatency(hnsw)];
      const recall = recalls.reduce((s, r) => s + r, 0) / recalls.length;
      console.log(
        `${name.padEnd(15)} ${String(tagged).padStart(6)} ${el.p50.toFixed(2).padStart(11)} ${el.p99.toFixed(2).padStart(11)} ` +
          `${hl.p50.toFixed(2).padStart(10)} ${hl.p99.toFixed(2).padStart(10)} ${recall.toFixed(3).padStart(16)}`,
      );
    }
  } finally {
    await client.end();
    await pool.end();
  }
}

main().catch((err: unknown) => {
  console.error(`[bench:filter-route] ${(err as Error).message}`);
  process.exit(1);
});
