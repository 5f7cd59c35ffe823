/**
 * The capacity database: where synthetic capacity rows are loaded, indexed, benchmarked and
 * removed, apart from the live `traces` table. It has the live schema (the same migrations) and
 * the same seed traces, so the benchmark searches data of the same shape as production's.
 *
 * Before any capacity job writes, `assertCapacityTarget` identifies the database it is about to
 * touch by what it is (name and system identifier), not by configuration alone: it refuses the live
 * database outright, and a configured production database without an explicit override.
 */
import { readFile } from 'node:fs/promises';
import type pg from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import { redactUrl, type Config, type ProductionDatabase } from '../config.js';
import { countPending, embedNextBatch } from '../embeddings/backfill.js';
import type { Embedder } from '../embeddings/embedder.js';
import { DEFAULT_SEED_FIXTURE, resolveProjectPath } from '../paths.js';
import { ensureSeedContributor, importSeedChunk } from '../seeds/import.js';
import { seedTraceProblems, type SeedTrace } from '../seeds/schema.js';
import { migrateDatabase } from './migrate.js';

export interface DatabaseIdentity {
  name: string;
  /** Unique per PostgreSQL cluster (initdb); null when the role may not read pg_control_system(). */
  systemIdentifier: string | null;
}

export async function databaseIdentity(pool: pg.Pool): Promise<DatabaseIdentity> {
  const { rows } = await pool.query<{ name: string }>('SELECT current_database() AS name');
  let systemIdentifier: string | null = null;
  try {
    const control = await pool.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
    systemIdentifier = control.rows[0]?.id ?? null;
  } catch {
    // Without the privilege the name still identifies the database; the live-database check below
    // then compares names on this server only.
  }
  return { name: rows[0]!.name, systemIdentifier };
}

export function isProductionDatabase(target: DatabaseIdentity, production: readonly ProductionDatabase[]): ProductionDatabase | undefined {
  return production.find((p) => p.name === target.name && (p.systemIdentifier === undefined || p.systemIdentifier === target.systemIdentifier));
}

/**
 * Refuses a capacity job whose target is the live database (always), or a production one (APP_ENV
 * or PRODUCTION_DATABASES) unless `allowProduction` is set. Non-retryable: another attempt would
 * reach the same database.
 */
export async function assertCapacityTarget(
  config: Config, pools: { live: pg.Pool; capacity: pg.Pool }, allowProduction: boolean | undefined, what: string,
): Promise<DatabaseIdentity> {
  const [target, live] = await Promise.all([databaseIdentity(pools.capacity), databaseIdentity(pools.live)]);
  if (target.name === live.name && target.systemIdentifier === live.systemIdentifier) {
    throw ApplicationFailure.nonRetryable(
      `Refusing to ${what}: the capacity database ${redactUrl(config.capacityDatabaseUrl)} is the live database (${live.name}, system ${live.systemIdentifier ?? 'unknown'}). ` +
        'Point CAPACITY_DATABASE_URL at a database of its own (unset, it defaults to <database>_capacity).',
      'ProductionGuard',
    );
  }
  const listed = isProductionDatabase(target, config.productionDatabases);
  if ((listed || config.appEnv === 'production') && !allowProduction) {
    const why = listed
      ? `PRODUCTION_DATABASES lists the capacity database ${target.name} (system ${target.systemIdentifier ?? 'unknown'})`
      : 'APP_ENV=production on the worker';
    throw ApplicationFailure.nonRetryable(
      `Refusing to ${what}: ${why}, and this writes or deletes synthetic capacity data there. ` +
        'If it really is a disposable capacity database, re-run with the explicit override ' +
        '(--allow-production on the CLI, allowProduction: true in the workflow input).',
      'ProductionGuard',
    );
  }
  return target;
}

export interface CapacityDatabaseReady {
  created: boolean;
  migrationsApplied: number;
  seedsImported: number;
  seedsEmbedded: number;
}

const EMBED_BATCH = 64;
const MAX_PROBLEMS_IN_MESSAGE = 10;

/**
 * The seed fixture's entries, each checked against the seed schema, so that a malformed file is
 * refused before anything is written rather than imported half-way into the capacity database.
 */
export async function readCapacitySeeds(fixturePath: string): Promise<SeedTrace[]> {
  const path = resolveProjectPath(fixturePath);
  const refuse = (why: string, details = '') =>
    ApplicationFailure.nonRetryable(
      `Seed fixture ${path} ${why}; nothing was imported into the capacity database. ` +
        `Fix it (\`npm run cli -- seeds validate ${fixturePath}\` lists every problem) and start the run again.${details}`,
      'InvalidSeedFixture',
    );
  let entries: unknown;
  try {
    entries = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw refuse(`cannot be read as JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(entries)) throw refuse('is not a JSON array of seed traces');
  const problems = entries.flatMap((entry, i) => seedTraceProblems(entry).map((p) => `  - [${i}] ${p.path.join('.') || '(entry)'}: ${p.message}`));
  if (problems.length > 0) {
    const more = problems.length > MAX_PROBLEMS_IN_MESSAGE ? `\n  … and ${problems.length - MAX_PROBLEMS_IN_MESSAGE} more` : '';
    throw refuse(`has ${problems.length} schema problem(s)`, `\n${problems.slice(0, MAX_PROBLEMS_IN_MESSAGE).join('\n')}${more}`);
  }
  return entries as SeedTrace[];
}

/**
 * Creates and migrates the capacity database when needed, and gives it the seed traces embedded
 * with the active model. Idempotent: seeds are keyed by seed_key, and only pending rows are embedded.
 */
export async function prepareCapacityDatabase(
  config: Config, pool: pg.Pool, embedder: Embedder, onProgress: (phase: string) => void = () => {}, seedFixture = DEFAULT_SEED_FIXTURE,
): Promise<CapacityDatabaseReady> {
  const seeds = await readCapacitySeeds(seedFixture);
  onProgress('migrating');
  const { created, applied } = await migrateDatabase(config.capacityDatabaseUrl);
  onProgress('importing seeds');
  const contributorId = await ensureSeedContributor(pool);
  const imported = await importSeedChunk(pool, seeds, contributorId);
  let embedded = 0;
  while ((await countPending(pool, embedder.modelId, 'seeds')).pending > 0) {
    onProgress(`embedding seeds (${embedded} done)`);
    const batch = await embedNextBatch(pool, embedder, 'seeds', EMBED_BATCH);
    // 0 with rows pending: another worker holds them (SKIP LOCKED) and embeds them itself.
    if (batch === 0) break;
    embedded += batch;
  }
  return { created, migrationsApplied: applied, seedsImported: imported.inserted, seedsEmbedded: embedded };
}

const schemaReady = new Map<string, Promise<unknown>>();

/**
 * Creates and migrates the capacity database once per process (cleanup, index builds and
 * benchmarks can run before any population on a new server; on an empty database they find nothing).
 */
export async function ensureCapacitySchema(config: Config): Promise<void> {
  const url = config.capacityDatabaseUrl;
  let ready = schemaReady.get(url);
  if (!ready) {
    ready = migrateDatabase(url);
    schemaReady.set(url, ready);
    ready.catch(() => schemaReady.delete(url));
  }
  await ready;
}

/** True for PostgreSQL's "database does not exist" (3D000). */
export function isMissingDatabase(err: unknown): boolean {
  return (err as { code?: string }).code === '3D000';
}
