/**
 * Gives each test file its own live and capacity database, so scripts/test.sh can run integration
 * files side by side: loaded with `--import` into every test-file process, it copies the migrated
 * templates (TEST_DATABASE_TEMPLATE and its `_capacity` twin, migrated afresh by
 * scripts/test-databases.ts at the start of each run) into `<template>_f<pid>` and `<template>_f<pid>_capacity` and points
 * DATABASE_URL / CAPACITY_DATABASE_URL at them before the file, and every process it spawns, reads
 * its config. A file run by hand (no TEST_DATABASE_TEMPLATE) uses DATABASE_URL as it is. Each
 * file drops its copies when it is done; scripts/test.sh drops any left when the run ends.
 */
import { relative } from 'node:path';
import pg from 'pg';
import { withDatabase } from '../../src/db/database-url.js';
import { dropDatabase } from './admin-database.js';
import { recordTimesOnExit } from './file-times.js';

const template = process.env.TEST_DATABASE_TEMPLATE;
// node --test loads --import modules into the runner too; only the test-file processes need a copy.
const isTestFile = process.env.NODE_TEST_CONTEXT !== undefined;

if (template && isTestFile && !process.env.TEST_FILE_DATABASE) {
  const templateUrl = new URL(template);
  const templateName = templateUrl.pathname.slice(1);
  const name = `${templateName}_f${process.pid}`;
  const copies = [[name, templateName], [`${name}_capacity`, `${templateName}_capacity`]] as const;
  const dropCopies = async () => {
    for (const [copy] of copies) await dropDatabase(withDatabase(templateUrl, copy));
  };
  await dropCopies();
  const admin = new pg.Client({ connectionString: withDatabase(templateUrl, 'postgres') });
  await admin.connect();
  try {
    // FILE_COPY copies the template's files instead of writing every page of them to the WAL (the
    // default, WAL_LOG): 0.17 instead of 0.42 CPU s of PostgreSQL per copy made and dropped, and a
    // run makes two copies for each of some 45 files.
    for (const [copy, from] of copies) {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(copy)} TEMPLATE ${pg.escapeIdentifier(from)} STRATEGY FILE_COPY`);
    }
  } finally {
    await admin.end();
  }
  process.env.DATABASE_URL = withDatabase(templateUrl, name);
  process.env.CAPACITY_DATABASE_URL = withDatabase(templateUrl, `${name}_capacity`);
  // Marks the copy as made, so processes the file spawns (CLI, workers) use it instead of copying again.
  process.env.TEST_FILE_DATABASE = name;

  // When the file is done (its event loop empty), it drops its copies while other files still run:
  // each DROP DATABASE waits for a checkpoint, and 150 of them in a row at the end of a run took
  // seconds. A file that dies before that leaves them to scripts/test.sh, which drops what is left.
  let dropping = false;
  process.on('beforeExit', () => {
    if (dropping) return;
    dropping = true;
    dropCopies().catch((err: Error) => console.error(`[test] could not drop ${name}: ${err.message}; scripts/test.sh drops it at the end`));
  });
}

// Each test file's wall and CPU seconds, for scripts/test.sh's summary.
if (isTestFile && process.argv[1]) recordTimesOnExit(relative(process.cwd(), process.argv[1]));
