/**
 * Creates the database when it is missing, then applies drizzle/ migrations. Safe to run any number
 * of times: drizzle records applied migrations in drizzle.__drizzle_migrations.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, redactUrl } from '../config.js';
import { endPool } from './client.js';
import { logger } from '../logger.js';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

export class DatabaseUnreachableError extends Error {
  constructor(databaseUrl: string, cause: unknown) {
    super(
      `Cannot connect to PostgreSQL at ${redactUrl(databaseUrl)}: ${(cause as Error).message}. ` +
        'Start the local stack with `npm run stack:up`, or set DATABASE_URL to a reachable server.',
    );
    this.name = 'DatabaseUnreachableError';
  }
}

/** CREATE DATABASE cannot run inside the target database, so connect to the server's `postgres` db. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const target = new URL(databaseUrl);
  const dbName = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!dbName) throw new Error(`DATABASE_URL ${redactUrl(databaseUrl)} names no database`);
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new DatabaseUnreachableError(databaseUrl, err);
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(dbName)}`);
    return true;
  } catch (err) {
    // Two processes racing to create the same database: the loser sees duplicate_database.
    if ((err as { code?: string }).code === '42P04') return false;
    throw err;
  } finally {
    await client.end();
  }
}

export async function migrateDatabase(databaseUrl: string): Promise<{ created: boolean; applied: number }> {
  const created = await ensureDatabase(databaseUrl);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const before = await countApplied(pool);
    // Loaded here, not at the top: drizzle-orm costs every process that imports this module about a
    // second of CPU, and most of them never migrate.
    const [{ drizzle }, { migrate }] = await Promise.all([import('drizzle-orm/node-postgres'), import('drizzle-orm/node-postgres/migrator')]);
    await migrate(drizzle(pool), { migrationsFolder: MIGRATIONS_FOLDER });
    const after = await countApplied(pool);
    return { created, applied: after - before };
  } finally {
    await endPool(pool);
  }
}

async function countApplied(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ present: boolean }>(
    `SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS present`,
  );
  if (!rows[0]?.present) return 0;
  const counted = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
  return counted.rows[0]?.n ?? 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const config = loadConfig();
  migrateDatabase(config.databaseUrl)
    .then(({ created, applied }) => {
      // The command's result (stack:up prints it): stdout, not a log line.
      console.log(
        `[db] ${redactUrl(config.databaseUrl)}: ${created ? 'database created, ' : ''}` +
          `${applied === 0 ? 'schema up to date' : `${applied} migration(s) applied`}`,
      );
    })
    .catch((err: Error) => {
      logger.fatal({ err, component: 'migrate', database: redactUrl(config.databaseUrl) }, `migration failed: ${err.message}`);
      process.exit(1);
    });
}
