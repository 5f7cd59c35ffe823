/**
 * bench:embed — how long until 500 seeds are embedded and readiness is confirmed.
 *
 * Ours: the real embeddingReadiness workflow on a worker whose embedder is the OpenAI client,
 * pointed at an OpenAI-compatible server on loopback that answers each request in 200 ms.
 * Research design (track 07-01, Pitfall 3): a worker that claims 10 traces per batch and sleeps
 * 5 s between polls. That loop is run for real against the same server on a smaller set, then
 * extrapolated, next to its analytic estimate.
 *
 *   npm run bench:embed -- [--traces 500] [--latency-ms 200] [--baseline-traces 50] [--batch-size 256] [--lanes 2] [--keep-db]
 *
 * Everything happens in a dedicated database (commontrace_bench_embed), dropped at the end.
 */
import type pg from 'pg';
import { loadConfig, redactUrl, type Config } from '../../src/config.js';
import { createPool, endPool } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { countPending, embedNextBatch } from '../../src/embeddings/backfill.js';
import { OpenAIEmbedder, OPENAI_MODEL_ID } from '../../src/embeddings/openai.js';
import { ensureSeedContributor, importSeedChunk } from '../../src/seeds/import.js';
import type { SeedTrace } from '../../src/seeds/schema.js';
import { createWorker } from '../../src/worker.js';
import { connectClient } from '../../src/temporal.js';
import { textTable } from '../../src/cli/format.js';
import { CLI_RANGES, intOption, newProgram, numberOption } from '../../src/cli/parse.js';
import { embeddingReadiness } from '../../src/workflows/embedding-readiness.js';
import { startFakeOpenAI, type FakeOpenAI } from '../../test/helpers/fake-openai.js';
// Also installs the quiet (WARN) Temporal runtime logger the test harness uses.
import { dropDatabase } from '../../test/helpers/env.js';
import { loadSeeds } from '../../test/helpers/seeds.js';

const RESEARCH_BATCH = 10;
const RESEARCH_POLL_SECONDS = 5;
const TARGET_SECONDS = 15;

const args = newProgram('bench:embed')
  .option('--traces <n>', 'seed-like traces to embed', intOption('--traces', CLI_RANGES.count), 500)
  .option('--latency-ms <ms>', "the fake OpenAI server's time per request", numberOption('--latency-ms', CLI_RANGES.milliseconds), 200)
  .option('--baseline-traces <n>', 'traces the research design runs for real (at most --traces)', intOption('--baseline-traces', CLI_RANGES.count), 50)
  .option('--batch-size <n>', 'rows per claimed batch', intOption('--batch-size', CLI_RANGES.batchSize), 256)
  .option('--lanes <n>', 'embedding lanes', intOption('--lanes', CLI_RANGES.clients), 2)
  .option('--keep-db', 'keep the bench database')
  .parse()
  .opts();
const TRACES = args.traces;
const LATENCY_MS = args.latencyMs;
const BASELINE_TRACES = Math.min(args.baselineTraces, TRACES);
const BATCH_SIZE = args.batchSize;
const LANES = args.lanes;

const log = (m: string) => console.error(`[bench:embed] ${m}`);
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The 330 curated seeds, then derived copies with their own seed_keys until `n` traces. */
function seedLikeTraces(seeds: SeedTrace[], n: number): SeedTrace[] {
  const out = seeds.slice(0, n);
  for (let copy = 1; out.length < n; copy++) {
    for (const s of seeds) {
      if (out.length >= n) break;
      out.push({ ...s, seed_key: `${s.seed_key}-bench-${copy}`, title: `${s.title} (variant ${copy})`, context: `${s.context}\n\nSeen again in project ${copy}.` });
    }
  }
  return out;
}

async function loadDatabase(pool: pg.Pool, traces: SeedTrace[]): Promise<void> {
  const contributor = await ensureSeedContributor(pool);
  for (let i = 0; i < traces.length; i += 100) await importSeedChunk(pool, traces.slice(i, i + 100), contributor);
}

/** Ours: the embeddingReadiness workflow, from start until its result says 0 pending. */
async function runOurs(config: Config, fake: FakeOpenAI, embedder: OpenAIEmbedder) {
  const running = await createWorker(config, {}, { embedder });
  const workerDone = running.worker.run();
  const client = await connectClient(config);
  try {
    fake.reset();
    const started = performance.now();
    const result = await client.workflow.execute(embeddingReadiness, {
      taskQueue: config.temporal.taskQueue,
      workflowId: `bench-embed-${Date.now()}`,
      args: [{ target: 'seeds', batchSize: BATCH_SIZE, lanes: LANES, deadlineSeconds: 600 }],
      staticSummary: `bench:embed — ${TRACES} seeds through a ${LATENCY_MS} ms fake`,
    });
    const elapsedMs = performance.now() - started;
    return { result, elapsedMs, requests: fake.requests.length, inputs: fake.requests.map((r) => r.inputs) };
  } finally {
    await client.connection.close();
    running.worker.shutdown();
    await workerDone;
    await running.close();
  }
}

/** The research worker: claim 10, embed them in one request, write, sleep 5 s, until none pending. */
async function runResearchLoop(pool: pg.Pool, fake: FakeOpenAI, embedder: OpenAIEmbedder) {
  fake.reset();
  const started = performance.now();
  const batchMs: number[] = [];
  for (;;) {
    const t = performance.now();
    await embedNextBatch(pool, embedder, 'seeds', RESEARCH_BATCH);
    batchMs.push(performance.now() - t);
    if ((await countPending(pool, embedder.modelId, 'seeds')).pending === 0) break;
    await sleep(RESEARCH_POLL_SECONDS * 1000);
  }
  const elapsedMs = performance.now() - started;
  const meanBatchMs = batchMs.reduce((a, b) => a + b, 0) / batchMs.length;
  const cycles = Math.ceil(TRACES / RESEARCH_BATCH);
  // Same loop for TRACES: every cycle but the last ends in a poll sleep.
  const extrapolatedMs = cycles * meanBatchMs + (cycles - 1) * RESEARCH_POLL_SECONDS * 1000;
  return { elapsedMs, requests: fake.requests.length, cycles: batchMs.length, meanBatchMs, extrapolatedMs };
}

async function main(): Promise<void> {
  const base = loadConfig();
  const url = new URL(base.databaseUrl);
  url.pathname = '/commontrace_bench_embed';
  const config: Config = {
    ...base,
    databaseUrl: url.toString(),
    temporal: { ...base.temporal, taskQueue: `bench-embed-${process.pid}` },
  };
  log(`database ${redactUrl(config.databaseUrl)} (recreated), task queue ${config.temporal.taskQueue}`);
  await dropDatabase(config.databaseUrl);
  await migrateDatabase(config.databaseUrl);

  const pool = createPool(config.databaseUrl, { max: 4 });
  const fake = await startFakeOpenAI({ latencyMs: LATENCY_MS });
  const embedder = new OpenAIEmbedder({ apiKey: 'sk-bench', baseURL: fake.baseURL });
  try {
    const traces = seedLikeTraces(await loadSeeds(), TRACES);
    await loadDatabase(pool, traces);
    const pending = await countPending(pool, OPENAI_MODEL_ID, 'seeds');
    if (pending.pending !== TRACES) throw new Error(`expected ${TRACES} pending seeds, found ${pending.pending}`);
    log(`${TRACES} seed-like traces loaded (${Math.min(TRACES, 330)} seeds + ${Math.max(0, TRACES - 330)} derived copies), fake server ${fake.baseURL} at ${LATENCY_MS} ms/request`);

    log('ours: embeddingReadiness workflow …');
    const ours = await runOurs(config, fake, embedder);
    const after = await countPending(pool, OPENAI_MODEL_ID, 'seeds');
    if (after.pending !== 0 || ours.result.pending !== 0) throw new Error(`readiness reported but ${after.pending} rows still pending`);

    log(`research design: ${RESEARCH_BATCH} per batch, ${RESEARCH_POLL_SECONDS} s poll, on ${BASELINE_TRACES} traces for real …`);
    await pool.query(
      `UPDATE traces SET embedding = NULL, embedding_model_id = NULL
        WHERE id IN (SELECT id FROM traces WHERE is_seed ORDER BY created_at, id LIMIT $1)`,
      [BASELINE_TRACES],
    );
    const research = await runResearchLoop(pool, fake, embedder);
    const cycles = Math.ceil(TRACES / RESEARCH_BATCH);
    // One request per batch, a poll sleep after every batch but the last (a lower bound: the real
    // worker also pays database time per batch, which the measured row includes).
    const analyticMs = cycles * LATENCY_MS + (cycles - 1) * RESEARCH_POLL_SECONDS * 1000;

    const ok = ours.elapsedMs <= TARGET_SECONDS * 1000;
    console.log(`\nbench:embed — ${TRACES} seed traces, OpenAI-compatible fake on loopback answering in ${LATENCY_MS} ms/request\n`);
    console.log(textTable(
      ['design', 'traces', 'time to ready (s)', 'requests', 'inputs/request', 'how'],
      [
        ['ours: embeddingReadiness', String(TRACES), seconds(ours.elapsedMs), String(ours.requests), ours.inputs.join(', '),
          `measured; ${LANES} lanes × ${BATCH_SIZE}/batch, SKIP LOCKED claims, workflow start → result`],
        ['research: 10/batch, 5 s poll', String(BASELINE_TRACES), seconds(research.elapsedMs), String(research.requests), String(RESEARCH_BATCH),
          `measured; ${research.cycles} cycles, mean batch ${research.meanBatchMs.toFixed(0)} ms`],
        ['research: 10/batch, 5 s poll', String(TRACES), seconds(research.extrapolatedMs), String(cycles), String(RESEARCH_BATCH),
          `extrapolated from the measured cycles`],
        ['research: 10/batch, 5 s poll', String(TRACES), seconds(analyticMs), String(cycles), String(RESEARCH_BATCH),
          `analytic: ${cycles} × ${LATENCY_MS} ms + ${cycles - 1} × ${RESEARCH_POLL_SECONDS} s poll`],
      ],
    ));
    console.log(
      `\nours: ${seconds(ours.elapsedMs)} s to ready for ${TRACES} (workflow's own clock ${ours.result.seconds} s, ${ours.result.embedded} embedded, ` +
        `${ours.result.pending} pending) — ${(research.extrapolatedMs / ours.elapsedMs).toFixed(0)}× faster than the research design; ` +
        `target ≤ ${TARGET_SECONDS} s: ${ok ? 'PASS' : 'FAIL'}`,
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    await fake.close();
    await endPool(pool);
    if (!args.keepDb) await dropDatabase(config.databaseUrl);
  }
}

main().catch((err: Error) => {
  console.error(`[bench:embed] ${err.stack ?? err.message}`);
  process.exit(1);
});
