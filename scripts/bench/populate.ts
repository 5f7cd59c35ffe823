/**
 * bench:populate — how close the capacityPopulation workflow comes to PostgreSQL's own COPY, and the
 * indexBuild workflow to a raw CREATE INDEX, all measured in the same run on the same rows.
 *
 *   npm run bench:populate -- [--total 100000] [--batch-size 1000] [--concurrency 2] [--clusters 1000] [--repeats 1] [--keep-db]
 *
 * In a dedicated database (commontrace_bench_populate: recreated, dropped at the end unless --keep-db):
 *  (a) the capacityPopulation workflow on an in-process worker: Temporal, row generation and the
 *      exactly-once ledger included; peak worker RSS sampled every 50 ms;
 *  (b) the same rows (same run key, so byte-identical) by a raw single-process loader without
 *      Temporal: generate a batch, encode it, one binary COPY, next batch, on one connection;
 *  (c) the same rows as text by `psql \copy`, the research's method;
 *  (d) for reference, PostgreSQL's ceiling: one binary COPY of the rows pre-generated into a file;
 *  then the HNSW build through the indexBuild workflow against a raw CREATE INDEX with the same
 *  maintenance_work_mem and 1 parallel worker. Targets: (a) ≥ 0.6 × (b) in rows/s; indexBuild ≤ 1.1 × raw.
 */
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig, redactUrl, type Config } from '../../src/config.js';
import { createPool, endPool } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { formatBytes } from '../../src/bytes.js';
import { HNSW_EF_CONSTRUCTION, HNSW_INDEX_NAME, HNSW_M } from '../../src/db/hnsw.js';
import { createEmbedder } from '../../src/embeddings/index.js';
import { describeCentreSource, loadCentres } from '../../src/capacity/centres.js';
import { copyHeader, copyTrailer, encodeRow, type CopyValue } from '../../src/capacity/copy-binary.js';
import { generateBatch, type BatchSpec } from '../../src/capacity/generator.js';
import { copyBinary, COPY_COLUMNS, COPY_SQL, encodeBatch, ensureCapacityContributor, rowValues } from '../../src/capacity/population.js';
import type { IndexBuildReport } from '../../src/capacity/index-build.js';
import { describeEnvironment } from '../../src/benchmark/environment.js';
import { createWorker } from '../../src/worker.js';
import { connectClient } from '../../src/temporal.js';
import { textTable } from '../../src/cli/format.js';
import { CLI_RANGES, intOption, newProgram } from '../../src/cli/parse.js';
import { capacityPopulation } from '../../src/workflows/capacity-population.js';
import { indexBuild } from '../../src/workflows/index-build.js';
// Also installs the quiet (WARN) Temporal runtime logger the test harness uses.
import { dropDatabase } from '../../test/helpers/env.js';

const DIMENSIONS = 1536;
const SIGMA = 0.05;
const GENERATOR_SEED = 42;
const RUN_KEY = 'bench-populate';
const TARGET_LOAD_RATIO = 0.6;
const TARGET_INDEX_RATIO = 1.1;

const args = newProgram('bench:populate')
  .option('--total <n>', 'rows to load', intOption('--total', CLI_RANGES.traces), 100_000)
  .option('--batch-size <n>', 'rows per batch', intOption('--batch-size', CLI_RANGES.batchSize), 1_000)
  .option('--concurrency <n>', 'batch activities in flight', intOption('--concurrency', CLI_RANGES.concurrency), 2)
  .option('--clusters <n>', 'clusters of the synthetic data', intOption('--clusters', CLI_RANGES.count), 1_000)
  .option('--repeats <n>', 'interleaved repetitions of each measurement; the best counts', intOption('--repeats', CLI_RANGES.count), 1)
  .option('--keep-db', 'keep the bench database')
  .parse()
  .opts();
const TOTAL = args.total;
const BATCH_SIZE = args.batchSize;
const CONCURRENCY = args.concurrency;
const CLUSTERS = args.clusters;
const BATCHES = Math.ceil(TOTAL / BATCH_SIZE);
/** Interleaved repetitions of (a)/(b) and of the two index builds; the best of each is compared. */
const REPEATS = args.repeats;

const log = (m: string) => console.error(`[bench:populate] ${m}`);
const mb = (bytes: number) => bytes / 1e6;

interface LoadFigure {
  method: string;
  seconds: number;
  bytes: number;
  note: string;
}

function spec(batchIndex: number): BatchSpec {
  return { runKey: RUN_KEY, batchIndex, batchSize: BATCH_SIZE, total: TOTAL, dimensions: DIMENSIONS, clusters: CLUSTERS, sigma: SIGMA, generatorSeed: GENERATOR_SEED };
}

/** COPY text format: tab-separated, backslash escapes; vectors as pgvector's `[x,y,…]` with float4 precision. */
function textField(v: CopyValue): string {
  switch (v.kind) {
    case 'null': return '\\N';
    case 'bool': return v.value ? 't' : 'f';
    case 'vector': return `[${Array.from(v.value, (x) => x.toPrecision(9)).join(',')}]`;
    case 'text': return v.value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
    default: return String(v.value);
  }
}

/** The run's cluster centres (the rows are drawn around them). */
function loadRunCentres(): Float32Array[] {
  const centreSpec = { clusters: CLUSTERS, dimensions: DIMENSIONS, generatorSeed: GENERATOR_SEED };
  return loadCentres(centreSpec, describeCentreSource(centreSpec));
}

/** The rows of the run, written once as a binary and a text COPY file (generation is not timed). */
function writeCopyFiles(centres: Float32Array[], dir: string, modelId: string, contributorId: string) {
  const binary = path.join(dir, 'rows.bin');
  const text = path.join(dir, 'rows.txt');
  const bin = openSync(binary, 'w');
  const txt = openSync(text, 'w');
  try {
    writeSync(bin, copyHeader());
    for (let b = 0; b < BATCHES; b++) {
      const values = generateBatch(spec(b), centres).map((r) => rowValues(r, modelId, contributorId));
      writeSync(bin, Buffer.concat(values.map((v) => encodeRow(v))));
      writeSync(txt, values.map((v) => v.map(textField).join('\t')).join('\n') + '\n');
    }
    writeSync(bin, copyTrailer());
  } finally {
    closeSync(bin);
    closeSync(txt);
  }
  return { binary, text, binaryBytes: statSync(binary).size, textBytes: statSync(text).size };
}

/** Every load starts from the same state: an empty table without the HNSW index, after a checkpoint. */
async function resetTable(pool: pg.Pool): Promise<void> {
  await pool.query('TRUNCATE traces, capacity_batches CASCADE');
  await pool.query(`DROP INDEX IF EXISTS ${HNSW_INDEX_NAME}`);
  await pool.query('CHECKPOINT');
}

async function capacityRows(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM traces');
  return rows[0]!.n;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - started) / 1000 };
}

/** (b): what a plain loader script does, minus Temporal and the ledger. Returns total and COPY-only seconds. */
async function rawBinaryLoad(databaseUrl: string, centres: Float32Array[], modelId: string, contributorId: string) {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'bench:populate raw loader' });
  await client.connect();
  try {
    let copySeconds = 0;
    const { seconds } = await timed(async () => {
      for (let b = 0; b < BATCHES; b++) {
        const payload = encodeBatch(generateBatch(spec(b), centres), modelId, contributorId);
        copySeconds += (await timed(() => copyBinary(client, COPY_SQL, payload))).seconds;
      }
    });
    return { seconds, copySeconds };
  } finally {
    await client.end();
  }
}

async function fileBinaryCopy(databaseUrl: string, file: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'bench:populate raw COPY' });
  await client.connect();
  try {
    const { seconds } = await timed(async () => {
      await client.query('BEGIN');
      await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), client.query(copyFrom(COPY_SQL)));
      await client.query('COMMIT');
    });
    return seconds;
  } finally {
    await client.end();
  }
}

async function psqlTextCopy(databaseUrl: string, file: string): Promise<number> {
  const { seconds } = await timed(() => new Promise<void>((resolve, reject) => {
    const child = spawn('psql', [databaseUrl, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy ${COPY_COLUMNS} FROM '${file}'`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`psql \\copy exited ${code}: ${stderr}`))));
  }));
  return seconds;
}

async function rawCreateIndex(databaseUrl: string, maintenanceWorkMemBytes: number): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'bench:populate raw CREATE INDEX' });
  await client.connect();
  try {
    await client.query(`SET maintenance_work_mem = '${Math.floor(maintenanceWorkMemBytes / 1024)}kB'`);
    await client.query('SET max_parallel_maintenance_workers = 1');
    const { seconds } = await timed(() => client.query(
      `CREATE INDEX ${HNSW_INDEX_NAME} ON traces USING hnsw (embedding vector_cosine_ops) WITH (m = ${HNSW_M}, ef_construction = ${HNSW_EF_CONSTRUCTION})`,
    ));
    return seconds;
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const base = loadConfig();
  const url = new URL(base.databaseUrl);
  url.pathname = '/commontrace_bench_populate';
  const config: Config = { ...base, capacityDatabaseUrl: url.toString(), temporal: { ...base.temporal, taskQueue: `bench-populate-${process.pid}` } };
  log(`database ${redactUrl(config.capacityDatabaseUrl)} (recreated), task queue ${config.temporal.taskQueue}`);
  await dropDatabase(config.capacityDatabaseUrl);
  await migrateDatabase(config.capacityDatabaseUrl);

  const pool = createPool(config.capacityDatabaseUrl, { max: 2 });
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-populate-'));
  const running = await createWorker(config);
  const workerDone = running.worker.run();
  const client = await connectClient(config);
  try {
    const env = await describeEnvironment(config.capacityDatabaseUrl);
    const modelId = createEmbedder(config).modelId;

    const contributorId = await ensureCapacityContributor(pool);
    const centres = loadRunCentres();

    // (a) and (b), interleaved REPEATS times from the same empty table. The worker runs in this
    // process, so its RSS is ours.
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const workflowSamples: number[] = [];
    const rawSamples: { seconds: number; copySeconds: number }[] = [];
    for (let r = 1; r <= REPEATS; r++) {
      await resetTable(pool);
      log(`(a) capacityPopulation workflow: ${TOTAL} rows, batches of ${BATCH_SIZE}, ${CONCURRENCY} lanes (run ${r}/${REPEATS}) …`);
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
      const workflow = await timed(() => client.workflow.execute(capacityPopulation, {
        taskQueue: config.temporal.taskQueue,
        workflowId: `bench-populate-${Date.now()}`,
        args: [{ total: TOTAL, batchSize: BATCH_SIZE, concurrency: CONCURRENCY, clusters: CLUSTERS, sigma: SIGMA, generatorSeed: GENERATOR_SEED, dimensions: DIMENSIONS, runKey: RUN_KEY }],
        staticSummary: `bench:populate — ${TOTAL} rows`,
      }));
      clearInterval(sampler);
      if (workflow.value.rowsInserted !== TOTAL || (await capacityRows(pool)) !== TOTAL) {
        throw new Error(`the workflow inserted ${workflow.value.rowsInserted} rows, expected ${TOTAL}`);
      }
      workflowSamples.push(workflow.seconds);

      await resetTable(pool);
      log(`(b) raw single-process binary COPY loader (run ${r}/${REPEATS}) …`);
      rawSamples.push(await rawBinaryLoad(config.capacityDatabaseUrl, centres, modelId, contributorId));
      if ((await capacityRows(pool)) !== TOTAL) throw new Error('the raw loader did not load every row');
    }
    const workflowSeconds = Math.min(...workflowSamples);
    const raw = rawSamples.reduce((best, s) => (s.seconds < best.seconds ? s : best));
    const rawBinarySeconds = raw.seconds;

    // HNSW over the loaded rows: the indexBuild workflow, then a raw CREATE INDEX with the settings it chose.
    const indexSamples: { workflow: number; raw: number; report: IndexBuildReport }[] = [];
    for (let r = 1; r <= REPEATS; r++) {
      await pool.query(`DROP INDEX IF EXISTS ${HNSW_INDEX_NAME}`);
      await pool.query('CHECKPOINT');
      log(`indexBuild workflow (run ${r}/${REPEATS}) …`);
      const indexWorkflow = await timed(() => client.workflow.execute(indexBuild, {
        taskQueue: config.temporal.taskQueue,
        workflowId: `bench-index-${Date.now()}`,
        args: [{ parallelWorkers: 1, prewarm: false }],
        staticSummary: `bench:populate — HNSW over ${TOTAL} rows`,
      }));
      if (!indexWorkflow.value.built) throw new Error('indexBuild did not build the index');
      await pool.query(`DROP INDEX ${HNSW_INDEX_NAME}`);
      await pool.query('CHECKPOINT');
      log(`raw CREATE INDEX, maintenance_work_mem ${formatBytes(indexWorkflow.value.maintenanceWorkMemBytes)}, 1 parallel worker (run ${r}/${REPEATS}) …`);
      const rawIndex = await rawCreateIndex(config.capacityDatabaseUrl, indexWorkflow.value.maintenanceWorkMemBytes);
      indexSamples.push({ workflow: indexWorkflow.seconds, raw: rawIndex, report: indexWorkflow.value });
    }
    const bestIndex = indexSamples.reduce((best, s) => (s.workflow < best.workflow ? s : best));
    const report = bestIndex.report;
    const indexWorkflowSeconds = bestIndex.workflow;
    const rawIndexSeconds = Math.min(...indexSamples.map((s) => s.raw));

    // (c), (d): the same rows, by PostgreSQL's own tools.
    log(`writing the ${TOTAL} rows as binary and text COPY files in ${dir} (not timed) …`);
    const files = writeCopyFiles(centres, dir, modelId, contributorId);
    log(`binary ${formatBytes(files.binaryBytes)}, text ${formatBytes(files.textBytes)}`);
    await resetTable(pool);
    log('(c) psql \\copy of text …');
    const textSeconds = await psqlTextCopy(config.capacityDatabaseUrl, files.text);
    if ((await capacityRows(pool)) !== TOTAL) throw new Error('psql \\copy did not load every row');
    await resetTable(pool);
    log('(d) one binary COPY of the pre-generated file …');
    const fileSeconds = await fileBinaryCopy(config.capacityDatabaseUrl, files.binary);
    if ((await capacityRows(pool)) !== TOTAL) throw new Error('the file COPY did not load every row');

    const loads: LoadFigure[] = [
      { method: '(a) capacityPopulation workflow', seconds: workflowSeconds, bytes: files.binaryBytes,
        note: `Temporal + generation + ledger, ${BATCHES} batches × ${BATCH_SIZE}, ${CONCURRENCY} lanes; peak worker RSS ${formatBytes(peakRss)} (${formatBytes(rssBefore)} at start)` },
      { method: '(b) raw binary COPY loader, 1 process', seconds: rawBinarySeconds, bytes: files.binaryBytes,
        note: `generate, encode, COPY per batch on one connection, no Temporal; COPY itself ${raw.copySeconds.toFixed(2)} s` },
      { method: '(c) psql \\copy, text', seconds: textSeconds, bytes: files.textBytes, note: 'the research method; MB/s counts the text file' },
      { method: '(d) binary COPY of a pre-generated file', seconds: fileSeconds, bytes: files.binaryBytes, note: "PostgreSQL's ceiling on this machine: one COPY, no generation" },
    ];
    const loadRatio = rawBinarySeconds / workflowSeconds;
    const indexRatio = indexWorkflowSeconds / rawIndexSeconds;
    const loadOk = loadRatio >= TARGET_LOAD_RATIO;
    const indexOk = indexRatio <= TARGET_INDEX_RATIO;

    console.log(`\nbench:populate — ${TOTAL} × ${DIMENSIONS} synthetic traces (${CLUSTERS} clusters, sigma ${SIGMA}, seed ${GENERATOR_SEED})`);
    console.log(`PostgreSQL ${env.postgres}, pgvector ${env.pgvector}, ${env.cpuCores} CPUs (${env.cpuModel}), ` +
      `shared_buffers ${formatBytes(env.sharedBuffersBytes)}, maintenance_work_mem ${formatBytes(env.maintenanceWorkMemBytes)}\n`);
    console.log(textTable(
      ['load', 'rows', 'seconds', 'rows/s', 'MB/s', 'notes'],
      loads.map((l) => [l.method, String(TOTAL), l.seconds.toFixed(2), Math.round(TOTAL / l.seconds).toString(), (mb(l.bytes) / l.seconds).toFixed(1), l.note]),
    ));
    console.log(`\nworkflow / raw binary COPY loader throughput (a/b): ${loadRatio.toFixed(2)} (target ≥ ${TARGET_LOAD_RATIO}: ${loadOk ? 'PASS' : 'FAIL'}); ` +
      `workflow / text \\copy: ${(textSeconds / workflowSeconds).toFixed(1)}×; workflow / file COPY ceiling: ${(fileSeconds / workflowSeconds).toFixed(2)}`);
    if (REPEATS > 1) {
      const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
      console.log(`best of ${REPEATS} interleaved runs; seconds (a) ${list(workflowSamples)}; (b) ${list(rawSamples.map((x) => x.seconds))}`);
    }
    console.log('');
    console.log(textTable(
      ['HNSW build (m=16, ef_construction=64)', 'seconds', 'notes'],
      [
        ['indexBuild workflow', indexWorkflowSeconds.toFixed(2),
          `CREATE INDEX itself ${report.buildSeconds.toFixed(2)} s; also ANALYZE, EXPLAIN check, size vs shared_buffers; maintenance_work_mem ${formatBytes(report.maintenanceWorkMemBytes)}, 1 parallel worker`],
        ['raw CREATE INDEX', rawIndexSeconds.toFixed(2), `same maintenance_work_mem and parallel workers, one psql-like session`],
      ],
    ));
    console.log(`\nindexBuild / raw CREATE INDEX: ${indexRatio.toFixed(2)} (target ≤ ${TARGET_INDEX_RATIO}: ${indexOk ? 'PASS' : 'FAIL'}); ` +
      `index ${formatBytes(report.indexBytes)} vs shared_buffers ${formatBytes(report.sharedBuffersBytes)} (${report.fitsInSharedBuffers ? 'fits' : 'does NOT fit'}); ` +
      `planner uses it: ${report.usedByPlanner ? 'yes' : 'NO'}${report.warnings.length ? `; warnings: ${report.warnings.join('; ')}` : ''}`);
    if (REPEATS > 1) {
      const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
      console.log(`best of ${REPEATS} interleaved builds; seconds indexBuild ${list(indexSamples.map((x) => x.workflow))}; raw ${list(indexSamples.map((x) => x.raw))}`);
    }
    process.exitCode = loadOk && indexOk ? 0 : 1;
  } finally {
    await client.connection.close();
    running.worker.shutdown();
    await workerDone;
    await running.close();
    await endPool(pool);
    rmSync(dir, { recursive: true, force: true });
    if (args.keepDb) log(`kept ${redactUrl(config.databaseUrl)}`);
    else await dropDatabase(config.databaseUrl);
  }
}

main().catch((err: Error) => {
  console.error(`[bench:populate] ${err.stack ?? err.message}`);
  process.exit(1);
});
