/**
 * bench:ratelimit — the limiter's own throughput, and search latency through the API it guards.
 *
 * 1. Limiter: token-bucket checks per second against the local Redis (the Lua script through
 *    ioredis defineCommand, one connection, as the API uses it), over many keys and one hot key.
 * 2. API: POST /api/v1/traces/search under N users, each registered with its own key and its own
 *    keep-alive connection (autocannon, closed loop), with the local embedder over the curated seeds.
 *    The API runs in a child process so the load generator does not share its event loop, and with
 *    a per-user limit far above the offered load: every request still pays the Redis check, but
 *    no 429 distorts the latencies (the output shows the limited count to prove it).
 *
 *   npm run bench:ratelimit -- [--users 20] [--seconds 15] [--checks 20000] [--in-flight 64] [--keep-db]
 *
 * Everything happens in a dedicated database (commontrace_bench_ratelimit): the seeds are imported
 * and embedded there if missing, and the database is dropped at the end unless --keep-db.
 */
import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { loadConfig, redactUrl, type Config } from '../../src/config.js';
import { createPool, endPool } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { countPending, embedNextBatch } from '../../src/embeddings/backfill.js';
import { LocalEmbedder } from '../../src/embeddings/local.js';
import { ensureSeedContributor, importSeedChunk } from '../../src/seeds/import.js';
import type { SeedTrace } from '../../src/seeds/schema.js';
import { loadGoldenQueries } from '../../src/search/golden.js';
import { DEFAULT_GOLDEN_QUERIES, DEFAULT_SEED_FIXTURE, resolveProjectPath } from '../../src/paths.js';
import pLimit from 'p-limit';
import { ApiClient } from '../../src/api/api-client.js';
import { TokenBucket } from '../../src/ratelimit/token-bucket.js';
import { runHttpLoad } from '../../src/benchmark/http-load.js';
import { createLatencyHistogram, recordMs, summarizeLatency } from '../../src/benchmark/stats.js';
import { textTable } from '../../src/cli/format.js';
import { CLI_RANGES, intOption, newProgram } from '../../src/cli/parse.js';
import { dropDatabase } from '../../test/helpers/env.js';
import { loadSeeds } from '../../test/helpers/seeds.js';
import { startChildApi, type ChildApi } from '../../src/api/child.js';

const BENCH_DATABASE = 'commontrace_bench_ratelimit';
/** Far above what N users can send in the run, so the limiter is exercised but never refuses. */
const BENCH_READ_LIMIT = 1_000_000;

const args = newProgram('bench:ratelimit')
  .option('--users <n>', 'API users, each with its own key and connection', intOption('--users', { min: 1, max: 1_000 }), 20)
  .option('--seconds <n>', 'seconds of API load', intOption('--seconds', CLI_RANGES.seconds), 15)
  .option('--checks <n>', 'token-bucket checks per limiter pass', intOption('--checks', CLI_RANGES.count), 20_000)
  .option('--in-flight <n>', 'limiter checks in flight', intOption('--in-flight', { min: 1, max: 10_000 }), 64)
  .option('--keep-db', 'keep the bench database')
  .parse()
  .opts();

const log = (m: string) => console.error(`[bench:ratelimit] ${m}`);
const fmt = (x: number, d = 2) => x.toFixed(d);

function benchConfig(base: Config): Config {
  const url = new URL(base.databaseUrl);
  url.pathname = `/${BENCH_DATABASE}`;
  return { ...base, databaseUrl: url.toString(), embedding: { provider: 'local' } };
}

async function ensureSeeds(pool: pg.Pool): Promise<{ seeds: number; imported: number; embedded: number }> {
  const seeds: SeedTrace[] = await loadSeeds(DEFAULT_SEED_FIXTURE);
  const embedder = new LocalEmbedder();
  const contributor = await ensureSeedContributor(pool);
  let imported = 0;
  for (let i = 0; i < seeds.length; i += 100) imported += (await importSeedChunk(pool, seeds.slice(i, i + 100), contributor)).inserted;
  let embedded = 0;
  for (let n = 1; n > 0; embedded += n) n = await embedNextBatch(pool, embedder, 'seeds', 256);
  const { pending } = await countPending(pool, embedder.modelId, 'seeds');
  if (pending > 0) throw new Error(`${pending} seeds still pending embedding`);
  return { seeds: seeds.length, imported, embedded };
}

interface LimiterRow {
  scenario: string;
  takes: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  allowed: number;
  limited: number;
}

async function benchLimiter(redisUrl: string, takes: number, inFlight: number): Promise<LimiterRow[]> {
  const redis = new Redis(redisUrl);
  const bucket = new TokenBucket(redis, 5_000);
  const run = async (scenario: string, users: string[]): Promise<LimiterRow> => {
    const histogram = createLatencyHistogram();
    let allowed = 0;
    // Warm-up: loads the script (EVALSHA falls back to EVAL once) and the connection.
    await pLimit(inFlight).map(Array.from({ length: 500 }), (_, i) => bucket.take(users[i % users.length]!, 'read', 60));
    await bucket.reset(users);
    const started = performance.now();
    await pLimit(inFlight).map(Array.from({ length: takes }), async (_, i) => {
      const t = performance.now();
      const d = await bucket.take(users[i % users.length]!, 'read', 60);
      recordMs(histogram, performance.now() - t);
      if (d.allowed) allowed++;
    });
    const seconds = (performance.now() - started) / 1000;
    await bucket.reset(users);
    const lat = summarizeLatency(histogram);
    return { scenario, takes, seconds, perSecond: takes / seconds, p50: lat.p50, p99: lat.p99, allowed, limited: takes - allowed };
  };
  try {
    const many = Array.from({ length: 1_000 }, () => `bench-${randomUUID()}`);
    return [await run('1,000 users (one key each)', many), await run('1 hot key', [`bench-${randomUUID()}`])];
  } finally {
    redis.disconnect();
  }
}

function metricValue(text: string, line: RegExp): number {
  return Number(line.exec(text)?.[1] ?? NaN);
}

async function main(): Promise<void> {
  const base = loadConfig();
  if (base.appEnv === 'production') throw new Error('bench:ratelimit loads its own database and Redis keys; run it against a local stack, not APP_ENV=production');
  const config = benchConfig(base);
  const users = args.users;
  const seconds = args.seconds;
  const takes = args.checks;
  const inFlight = args.inFlight;

  log(`database ${redactUrl(config.databaseUrl)}; Redis ${redactUrl(config.redisUrl)}`);
  await migrateDatabase(config.databaseUrl);
  const pool = createPool(config.databaseUrl, { max: 4 });
  let api: ChildApi | undefined;
  const runTag = `rl-${Date.now().toString(36)}`;
  try {
    const seeds = await ensureSeeds(pool);
    log(`${seeds.seeds} seeds present (${seeds.imported} imported, ${seeds.embedded} embedded now) with the local embedder`);

    log(`limiter: ${takes} checks × 2 scenarios, ${inFlight} in flight …`);
    const limiter = await benchLimiter(config.redisUrl, takes, inFlight);

    api = await startChildApi({ DATABASE_URL: config.databaseUrl, EMBEDDING_PROVIDER: 'local', RATE_LIMIT_READ_PER_MINUTE: String(BENCH_READ_LIMIT), RATE_LIMIT_REGISTER_PER_MINUTE: '1000' });
    const queries = (await loadGoldenQueries(resolveProjectPath(DEFAULT_GOLDEN_QUERIES))).map((q) => q.query);
    log(`API ${api.url} (child pid ${api.pid}): ${users} users × ${seconds} s, ${queries.length} golden queries …`);
    const load = await runHttpLoad({ baseUrl: api.url, users, seconds, queries, limit: 10, runTag });
    const metrics = String((await new ApiClient(api.url).request('GET', '/metrics')).body);
    const serverCount = metricValue(metrics, /^commontrace_search_duration_seconds_count (\d+)$/m);
    const serverSum = metricValue(metrics, /^commontrace_search_duration_seconds_sum (\S+)$/m);
    const limited = metricValue(metrics, /^commontrace_ratelimit_limited_total\{bucket="read"\} (\d+)$/m);
    const allowed = metricValue(metrics, /^commontrace_ratelimit_allowed_total\{bucket="read"\} (\d+)$/m);

    const infoClient = new Redis(config.redisUrl);
    const redisInfo = await infoClient.info('server').catch(() => '');
    infoClient.disconnect();
    console.log(
      `\nbench:ratelimit — ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
        `Redis ${/redis_version:(\S+)/.exec(redisInfo)?.[1] ?? '?'}, Node ${process.version}\n`,
    );
    console.log(`Limiter: Lua token bucket (EVALSHA via ioredis defineCommand), 1 connection, ${inFlight} checks in flight, capacity 60\n`);
    console.log(textTable(
      ['scenario', 'checks', 'seconds', 'checks/s', 'p50 ms', 'p99 ms', 'allowed', 'limited'],
      limiter.map((r) => [r.scenario, String(r.takes), fmt(r.seconds), fmt(r.perSecond, 0), fmt(r.p50, 3), fmt(r.p99, 3), String(r.allowed), String(r.limited)]),
    ));
    console.log(
      `\nAPI search: POST /api/v1/traces/search (limit 10) through auth + read bucket, ${users} users each with its own key and connection, ` +
        `${seconds} s closed loop, local embedder over ${seeds.seeds} seeds\n`,
    );
    const l = load.latency;
    console.log(textTable(
      ['users', 'requests', '2xx', 'non-2xx', 'errors', 'QPS', 'p50 ms', 'p95 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'statuses'],
      [[
        String(users), String(load.requests), String(load.ok), String(load.non2xx), String(load.errors), fmt(load.qps, 1),
        fmt(l.p50), fmt(l.p95), fmt(l.p99), fmt(l.p999), fmt(l.max),
        Object.entries(load.statusCodes).map(([s, n]) => `${n}×${s}`).join(', '),
      ]],
    ));
    console.log(
      `\nserver side: ${serverCount} searches, mean ${fmt((serverSum / serverCount) * 1000)} ms inside the handler ` +
        `(commontrace_search_duration_seconds); limiter allowed ${allowed}, limited ${limited} (bench limit ${BENCH_READ_LIMIT}/min per user)`,
    );
  } finally {
    await api?.stop();
    // The load's users: their buckets in the shared Redis, their rows if the database is kept.
    const { rows } = await pool.query<{ id: string }>("SELECT id FROM users WHERE email LIKE 'bench-%@loadtest.commontrace.invalid'");
    const redis = new Redis(config.redisUrl);
    await new TokenBucket(redis).reset(rows.map((r) => r.id)).catch(() => 0);
    redis.disconnect();
    if (args.keepDb) await pool.query("DELETE FROM users WHERE email LIKE 'bench-%@loadtest.commontrace.invalid'");
    await endPool(pool);
    if (!args.keepDb) await dropDatabase(config.databaseUrl);
  }
}

main().catch((err: Error) => {
  console.error(`[bench:ratelimit] ${err.stack ?? err.message}`);
  process.exit(1);
});
