/**
 * The test run's databases (scripts/test.sh): `reset` drops every per-file copy left by an earlier
 * run and makes the templates afresh, `drop-copies` drops the copies test/helpers/file-database.ts
 * made. The live template has the schema only: the cold-start tests import and embed its seeds. The
 * `_capacity` twin is prepared as the first capacity run prepares it (prepareCapacityDatabase: the
 * seed fixture imported and embedded with the run's embedder), so the files that populate capacity
 * data start from a capacity database that has been used before, instead of each embedding the 330
 * seeds again. test/db/capacity-database.test.ts prepares a new database from nothing.
 */
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { prepareCapacityDatabase } from '../src/db/capacity-database.js';
import { endPool } from '../src/db/client.js';
import { withDatabase } from '../src/db/database-url.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { createEmbedder } from '../src/embeddings/index.js';

const [command, templateUrl] = process.argv.slice(2);
if (!templateUrl || (command !== 'reset' && command !== 'drop-copies')) {
  console.error('usage: tsx scripts/test-databases.ts reset|drop-copies <template database url>');
  process.exit(2);
}

const template = new URL(templateUrl);
const templateName = template.pathname.slice(1);
const urlOf = (database: string) => withDatabase(template, database);

const admin = new pg.Client({ connectionString: urlOf('postgres') });
await admin.connect();
try {
  const { rows } = await admin.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE $1 ESCAPE '\\'`,
    [`${templateName.replace(/[\\%_]/g, (c) => `\\${c}`)}\\_f%`],
  );
  const drop = command === 'reset' ? [...rows.map((r) => r.datname), templateName, `${templateName}_capacity`] : rows.map((r) => r.datname);
  for (const name of drop) await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  console.log(`[test] dropped ${rows.length} per-file database${rows.length === 1 ? '' : 's'}`);
} finally {
  await admin.end();
}
if (command === 'reset') {
  const capacityName = `${templateName}_capacity`;
  await migrateDatabase(urlOf(templateName));
  const config = loadConfig({ ...process.env, DATABASE_URL: urlOf(templateName), CAPACITY_DATABASE_URL: urlOf(capacityName) });
  // Closed before the files copy the template: CREATE DATABASE … TEMPLATE refuses one in use.
  const capacity = new pg.Pool({ connectionString: config.capacityDatabaseUrl, max: 1 });
  try {
    const ready = await prepareCapacityDatabase(config, capacity, createEmbedder(config));
    console.log(`[test] migrated the templates ${templateName} and ${capacityName}; ${capacityName} has ${ready.seedsImported} seeds, ${ready.seedsEmbedded} embedded`);
  } finally {
    await endPool(capacity);
  }
}
