/**
 * Dropping a database through the server's `postgres` database. No config here: the per-file
 * database loader (file-database.ts) uses it before the test config may be read.
 */
import pg from 'pg';
import { withDatabase } from '../../src/db/database-url.js';

export const adminUrl = withDatabase;

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const client = new pg.Client({ connectionString: adminUrl(databaseUrl, 'postgres') });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
