import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, run } from '../helpers/cli.js';
import { sqliteFormatVersions } from '../helpers/sqlite.js';

const pidfile = path.join(REPO_ROOT, '.data/temporal.pid');
const postmasterPid = () => readFileSync(path.join(REPO_ROOT, '.data/pg/postmaster.pid'), 'utf8').split('\n')[0];

test('stack:up is idempotent: a second run starts nothing new', async () => {
  const before = { temporal: readFileSync(pidfile, 'utf8').trim(), postgres: postmasterPid() };
  const result = await run('bash', ['scripts/stack/up.sh']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /npm packages up to date/);
  assert.match(result.stdout, /Temporal CLI v1\.5\.1 present/);
  assert.match(result.stdout, /pgvector 0\.8\.\d+ already installed/);
  assert.match(result.stdout, /code-block parsers present/);
  assert.match(result.stdout, /PostgreSQL 15 already running on 127\.0\.0\.1:55432/);
  assert.match(result.stdout, /Temporal dev server already running \(pid \d+\)/);
  assert.match(result.stdout, /schema up to date/);
  assert.doesNotMatch(result.stdout, /starting|initializing|building/);
  assert.deepEqual({ temporal: readFileSync(pidfile, 'utf8').trim(), postgres: postmasterPid() }, before);
});

test("the project's Temporal dev server keeps its SQLite file in WAL mode", async () => {
  assert.deepEqual(await sqliteFormatVersions(path.join(REPO_ROOT, '.data/temporal.db')), [2, 2], 'format versions 2 = WAL, 1 = rollback journal');
});
