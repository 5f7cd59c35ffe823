/**
 * The test run's databases (scripts/test.sh): `reset` drops every per-file copy left by an earlier
 * run and migrates the templates afresh (the live template and its `_capacity` twin, empty but for
 * the schema), `drop-copies` drops the copies test/helpers/file-database.ts made.
 */
import pg from 'pg';
import { withDatabase } from '../src/db/database-url.js';
import { migrateDatabase } from '../src/db/migrate.js';

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
  for (const name of [templateName, `${templateName}_capacity`]) await migrateDatabase(urlOf(name));
  console.log(`[test] migrated the templates ${templateName} and ${templateName}_capacity`);
}
