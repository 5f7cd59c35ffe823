/**
 * bench:seed-import — how long a seed import takes when there is nothing new to write, split into
 * validating the fixture and talking to the database.
 *
 *   npm run bench:seed-import -- [--path fixtures/seed_traces.json] [--chunk-size 50] [--target-seconds 3]
 *
 * Against DATABASE_URL (migrated first), the seedImport workflow's own activities run in its order
 * — validateSeedFixture, ensureSeedContributor, then importSeedChunk per chunk — twice: the first run
 * may insert, the second finds every seed unchanged and inserts nothing. The second run is judged
 * against the target; the code-block checks are counted per language, with how many of the blocks
 * the activities' cache of checked blocks answered and the checker processes each started. (Both
 * runs share one set of activities, as they would on one worker.)
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createSeedActivities } from '../../src/activities/seeds.js';
import { loadConfig, redactUrl } from '../../src/config.js';
import { createPool } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { DEFAULT_SEED_FIXTURE } from '../../src/paths.js';
import { CHECK_CHANNEL, type CheckSummary } from '../../src/seeds/code-blocks/registry.js';
import type { ImportCounts } from '../../src/seeds/import.js';
import { DEFAULT_CHUNK_SIZE } from '../../src/workflows/seed-import.js';
import { textTable } from '../../src/cli/format.js';
import { CLI_RANGES, intOption, newProgram } from '../../src/cli/parse.js';

const args = newProgram('bench:seed-import')
  .option('--path <file>', 'the seed fixture', DEFAULT_SEED_FIXTURE)
  .option('--chunk-size <n>', 'seeds per import chunk', intOption('--chunk-size', CLI_RANGES.batchSize), DEFAULT_CHUNK_SIZE)
  .option('--target-seconds <n>', 'the second import passes at or under this', intOption('--target-seconds', CLI_RANGES.seconds), 3)
  .parse()
  .opts();
const FIXTURE = args.path;
const CHUNK_SIZE = args.chunkSize;
const TARGET_SECONDS = args.targetSeconds;

const log = (m: string) => console.error(`[bench:seed-import] ${m}`);
const seconds = (ms: number) => (ms / 1000).toFixed(2);

interface ImportRun {
  validateMs: number;
  databaseMs: number;
  counts: ImportCounts;
  checks: CheckSummary[];
}

async function importOnce(activities: ReturnType<typeof createSeedActivities>): Promise<ImportRun> {
  const checks: CheckSummary[] = [];
  const onCheck = (message: unknown) => checks.push(message as CheckSummary);
  subscribe(CHECK_CHANNEL.name, onCheck);
  const started = performance.now();
  let validated: number;
  const counts: ImportCounts = { inserted: 0, updated: 0, skipped: 0 };
  try {
    const fixture = await activities.validateSeedFixture({ path: FIXTURE, corpus: true });
    validated = performance.now();
    const contributorId = await activities.ensureSeedContributor();
    for (let start = 0; start < fixture.count; start += CHUNK_SIZE) {
      const end = Math.min(fixture.count, start + CHUNK_SIZE);
      const chunk = await activities.importSeedChunk({ path: fixture.path, fileHash: fixture.fileHash, start, end, contributorId });
      counts.inserted += chunk.inserted;
      counts.updated += chunk.updated;
      counts.skipped += chunk.skipped;
    }
  } finally {
    unsubscribe(CHECK_CHANNEL.name, onCheck);
  }
  return { validateMs: validated - started, databaseMs: performance.now() - validated, counts, checks };
}

function languageRows(checks: CheckSummary[]): string[][] {
  const columns = ['blocks', 'cached', 'processes'] as const;
  const sums = new Map<string, Record<(typeof columns)[number], number>>();
  for (const check of checks) {
    for (const column of columns) {
      for (const [language, n] of Object.entries(check[column])) {
        const row = sums.get(language) ?? { blocks: 0, cached: 0, processes: 0 };
        row[column] += n;
        sums.set(language, row);
      }
    }
  }
  const rows = [...sums].sort(([a], [b]) => a.localeCompare(b)).map(([language, row]) => [language, ...columns.map((c) => String(row[c]))]);
  const total = columns.map((c) => String([...sums.values()].reduce((sum, row) => sum + row[c], 0)));
  return [...rows, ['total', ...total]];
}

async function main(): Promise<void> {
  const { databaseUrl } = loadConfig();
  log(`database ${redactUrl(databaseUrl)}, fixture ${FIXTURE}, chunks of ${CHUNK_SIZE}`);
  await migrateDatabase(databaseUrl);
  const pool = createPool(databaseUrl, { max: 2 });
  try {
    const activities = createSeedActivities({ pool });
    log('first import (may insert) …');
    const first = await importOnce(activities);
    log('second import (inserts nothing) …');
    const second = await importOnce(activities);
    if (second.counts.inserted + second.counts.updated > 0) {
      throw new Error(`the second import wrote ${second.counts.inserted} inserted / ${second.counts.updated} updated seeds; the fixture changed between runs?`);
    }
    const totalMs = second.validateMs + second.databaseMs;
    const ok = totalMs <= TARGET_SECONDS * 1000;
    console.log(`\nbench:seed-import — ${FIXTURE}, imported twice through the seedImport activities\n`);
    console.log(textTable(
      ['run', 'validate (s)', 'database (s)', 'total (s)', 'inserted', 'updated', 'skipped'],
      [first, second].map((run, i) => [
        i === 0 ? 'first' : 'second', seconds(run.validateMs), seconds(run.databaseMs), seconds(run.validateMs + run.databaseMs),
        String(run.counts.inserted), String(run.counts.updated), String(run.counts.skipped),
      ]),
    ));
    console.log('\ncode blocks checked in the second run\n');
    console.log(textTable(['language', 'blocks', 'cached', 'processes'], languageRows(second.checks)));
    console.log(`\nsecond import: ${seconds(totalMs)} s (validate ${seconds(second.validateMs)} s, database ${seconds(second.databaseMs)} s); target ≤ ${TARGET_SECONDS} s: ${ok ? 'PASS' : 'FAIL'}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    await pool.end();
  }
}

main().catch((err: Error) => {
  console.error(`[bench:seed-import] ${err.stack ?? err.message}`);
  process.exit(1);
});
