import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import { endPool } from '../../src/db/client.js';
import { migrateDatabase, MIGRATIONS_FOLDER } from '../../src/db/migrate.js';
import { ensureSystemUser, isReservedEmail } from '../../src/db/system-users.js';
import { ensureSeedContributor } from '../../src/seeds/import.js';
import { ensureCapacityContributor } from '../../src/capacity/population.js';
import { adminUrl, baseConfig, dropDatabase, uniqueName } from '../helpers/config.js';

// A database of its own: these tests need the system e-mails free, which the shared test database's
// seed and capacity contributors may hold.
const url = adminUrl(baseConfig.databaseUrl, uniqueName('ct_system_users').replace(/-/g, '_'));
let pool: pg.Pool;

const SEEDS = 'seeds@commontrace.internal';
const CAPACITY = 'capacity-test@commontrace.internal';

interface UserRow {
  email: string;
  display_name: string | null;
  is_seed: boolean;
  is_system: boolean;
  api_key_hash: string | null;
}

async function user(email: string): Promise<UserRow | undefined> {
  const { rows } = await pool.query<UserRow>('SELECT email, display_name, is_seed, is_system, api_key_hash FROM users WHERE email = $1', [email]);
  return rows[0];
}

async function addTrace(contributorEmail: string): Promise<void> {
  await pool.query(
    `INSERT INTO traces (title, context_text, solution_text, contributor_id) SELECT 'title', 'context', 'solution', id FROM users WHERE email = $1`,
    [contributorEmail],
  );
}

function isConflict(email: string) {
  return (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'SystemUserConflict');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`^The users row for ${email.replace(/\./g, '\\.')} \\(id [0-9a-f-]{36}, created .+\\) is not a system user`));
    assert.match(err.message, /nothing was changed/);
    assert.ok(err.message.includes(`DELETE FROM users WHERE email = '${email}' AND NOT is_system`), 'says how to remove the row');
    return true;
  };
}

before(async () => {
  await migrateDatabase(url);
  pool = new pg.Pool({ connectionString: url, max: 2 });
});

after(async () => {
  await endPool(pool);
  await dropDatabase(url);
});

test('the migration marks the existing system users, but not a row registered (with a key) under a system e-mail', async () => {
  await pool.query(`INSERT INTO users (email, display_name, is_seed) VALUES ($1, 'CommonTrace Seeds', true)`, [SEEDS]);
  await pool.query(`INSERT INTO users (email, display_name, api_key_hash) VALUES ($1, 'Someone', $2)`, [CAPACITY, 'a'.repeat(64)]);
  const migration = readFileSync(path.join(MIGRATIONS_FOLDER, '0004_system_users.sql'), 'utf8').split('--> statement-breakpoint');
  assert.equal(migration.length, 2);
  assert.match(migration[0]!, /^ALTER TABLE "users" ADD COLUMN "is_system" boolean DEFAULT false NOT NULL;\s*$/);
  await pool.query(migration[1]!);
  assert.equal((await user(SEEDS))!.is_system, true);
  assert.equal((await user(CAPACITY))!.is_system, false);
  await pool.query('DELETE FROM users');
});

test('a non-system row holding a system e-mail is never adopted: creating the system user fails clearly and the row is untouched', async () => {
  await pool.query(`INSERT INTO users (email, display_name, api_key_hash) VALUES ($1, 'Squatter', $2)`, [SEEDS, 'b'.repeat(64)]);
  await pool.query(`INSERT INTO users (email, display_name, api_key_hash) VALUES ($1, 'Squatter', $2)`, [CAPACITY, 'c'.repeat(64)]);
  await addTrace(CAPACITY);
  const before = { seeds: await user(SEEDS), capacity: await user(CAPACITY) };

  await assert.rejects(ensureSeedContributor(pool), isConflict(SEEDS));
  await assert.rejects(ensureCapacityContributor(pool), isConflict(CAPACITY));

  assert.deepEqual(before.seeds, { email: SEEDS, display_name: 'Squatter', is_seed: false, is_system: false, api_key_hash: 'b'.repeat(64) });
  assert.deepEqual({ seeds: await user(SEEDS), capacity: await user(CAPACITY) }, before);
  assert.equal((await pool.query('SELECT 1 FROM traces')).rowCount, 1, "the squatter's trace is still there");

  const { traceCounts } = await import('../../src/capacity/cleanup.js');
  assert.deepEqual(await traceCounts(pool), { capacity: 0, seeds: 0, others: 1 }, 'its trace is not capacity data');
  await pool.query('DELETE FROM users');
});

test('the seed and capacity contributors are created as system users, once', async () => {
  const seeds = await ensureSeedContributor(pool);
  assert.equal(await ensureSeedContributor(pool), seeds);
  const capacity = await ensureCapacityContributor(pool);
  assert.equal(await ensureCapacityContributor(pool), capacity);
  assert.notEqual(seeds, capacity);
  assert.deepEqual(await user(SEEDS), { email: SEEDS, display_name: 'CommonTrace Seeds', is_seed: true, is_system: true, api_key_hash: null });
  assert.deepEqual(await user(CAPACITY), { email: CAPACITY, display_name: 'Capacity test data', is_seed: false, is_system: true, api_key_hash: null });

  await addTrace(CAPACITY);
  const { traceCounts } = await import('../../src/capacity/cleanup.js');
  assert.deepEqual(await traceCounts(pool), { capacity: 1, seeds: 0, others: 0 });
  await pool.query('DELETE FROM users');
});

test('system users live at commontrace.internal; the reserved domain covers its subdomains only', async () => {
  assert.equal(isReservedEmail('seeds@commontrace.internal'), true);
  assert.equal(isReservedEmail('x@CommonTrace.Internal'), true);
  assert.equal(isReservedEmail('bench-1@benchmark.commontrace.internal'), true);
  assert.equal(isReservedEmail('x@commontrace.internal.'), true);
  assert.equal(isReservedEmail('x@notcommontrace.internal'), false);
  assert.equal(isReservedEmail('x@commontrace.internal.example.com'), false);
  assert.equal(isReservedEmail('bench-1@loadtest.commontrace.invalid'), false);
  await assert.rejects(ensureSystemUser(pool, { email: 'robot@example.com', displayName: 'Robot', isSeed: false }), RangeError);
  assert.equal((await pool.query('SELECT 1 FROM users')).rowCount, 0);
});
