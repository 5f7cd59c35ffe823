/**
 * prepareCapacityDatabase against real PostgreSQL: a seed fixture that breaks the seed schema is
 * refused before anything is created, migrated or imported; a valid one is imported and embedded.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import { endPool } from '../../src/db/client.js';
import { prepareCapacityDatabase } from '../../src/db/capacity-database.js';
import { LocalEmbedder } from '../../src/embeddings/local.js';
import { adminUrl, baseConfig, dropDatabase, uniqueName } from '../helpers/config.js';
import { closeTestPool, scalar } from '../helpers/db.js';

const url = adminUrl(baseConfig.databaseUrl, uniqueName('ct_capacity_prep').replace(/-/g, '_'));
const config = { ...baseConfig, capacityDatabaseUrl: url };
const pool = new pg.Pool({ connectionString: url, max: 2 });
const embedder = new LocalEmbedder();
const databaseExists = () => scalar<boolean>('SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)', [new URL(url).pathname.slice(1)]);

after(async () => {
  await endPool(pool);
  await dropDatabase(url);
  await closeTestPool();
});

test('a malformed seed fixture is refused before the capacity database is even created', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'capacity-prep-'));
  try {
    const entries = JSON.parse(await readFile('fixtures/sample_traces.json', 'utf8')) as Record<string, unknown>[];
    delete entries[2]!['context'];
    const broken = path.join(dir, 'broken.json');
    await writeFile(broken, JSON.stringify(entries));
    const err = await prepareCapacityDatabase(config, pool, embedder, () => {}, broken).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'InvalidSeedFixture');
    assert.match(err.message, /\[2\] context: required field is missing/);
    assert.equal(await databaseExists(), false, 'nothing was created, so nothing is half-written');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a valid fixture is imported and embedded into a capacity database created for it', async () => {
  const ready = await prepareCapacityDatabase(config, pool, embedder, () => {}, 'fixtures/sample_traces.json');
  assert.equal(ready.created, true);
  assert.equal(ready.seedsImported, 12);
  assert.equal(ready.seedsEmbedded, 12);
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM traces WHERE embedding IS NOT NULL');
  assert.equal(rows[0]!.n, 12);
});
