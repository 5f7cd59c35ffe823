import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { migrateDatabase } from '../../src/db/migrate.js';
import { EMBEDDING_DIMENSIONS, HNSW_INDEX_NAME } from '../../src/db/constants.js';
import { adminUrl, baseConfig, dropDatabase, uniqueName } from '../helpers/config.js';
import { REPO_ROOT } from '../helpers/cli.js';

function randomUnitVector(dims: number): string {
  const v = Array.from({ length: dims }, () => Math.random() - 0.5);
  const norm = Math.hypot(...v);
  return `[${v.map((x) => (x / norm).toFixed(6)).join(',')}]`;
}

test('migrations create the schema on an empty database and are a no-op the second time', async (t) => {
  const url = adminUrl(baseConfig.databaseUrl, uniqueName('ct_migrate').replace(/-/g, '_'));
  t.after(() => dropDatabase(url));

  const first = await migrateDatabase(url);
  assert.equal(first.created, true);
  // One per SQL file in drizzle/, counted from the directory rather than from the migrator's journal.
  const files = (await readdir(path.join(REPO_ROOT, 'drizzle'))).filter((f) => f.endsWith('.sql'));
  assert.equal(first.applied, files.length);

  const second = await migrateDatabase(url);
  assert.deepEqual(second, { created: false, applied: 0 });

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
    );
    assert.deepEqual(tables.rows.map((r) => r.table_name), ['benchmark_ground_truth', 'benchmark_runs', 'capacity_batches', 'capacity_runway_samples', 'tags', 'trace_tags', 'traces', 'users']);

    const column = await client.query<{ t: string }>(
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'traces'::regclass AND attname = 'embedding'`,
    );
    assert.equal(column.rows[0]?.t, `vector(${EMBEDDING_DIMENSIONS})`);

    const index = await client.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE indexname = $1`, [HNSW_INDEX_NAME]);
    assert.match(index.rows[0]?.indexdef ?? '', /USING hnsw \(embedding vector_cosine_ops\) WITH \(m='?16'?, ef_construction='?64'?\)/);

    // contributor_id cascades: deleting a user removes their traces.
    const user = await client.query<{ id: string }>(`INSERT INTO users (email) VALUES ('cascade@test.invalid') RETURNING id`);
    await client.query(`INSERT INTO traces (title, context_text, solution_text, contributor_id) VALUES ('t', 'c', 's', $1)`, [user.rows[0]!.id]);
    await client.query(`DELETE FROM users WHERE id = $1`, [user.rows[0]!.id]);
    assert.equal((await client.query(`SELECT 1 FROM traces`)).rowCount, 0);
  } finally {
    await client.end();
  }
});

test('seed_key is unique where present, and NULL for many rows', async (t) => {
  const url = adminUrl(baseConfig.databaseUrl, uniqueName('ct_seedkey').replace(/-/g, '_'));
  t.after(() => dropDatabase(url));
  await migrateDatabase(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const user = await client.query<{ id: string }>(`INSERT INTO users (email) VALUES ('u@test.invalid') RETURNING id`);
    const insert = (seedKey: string | null) =>
      client.query(`INSERT INTO traces (title, context_text, solution_text, contributor_id, seed_key) VALUES ('t', 'c', 's', $1, $2)`, [user.rows[0]!.id, seedKey]);
    await insert(null);
    await insert(null);
    await insert('react-hooks-stale-closure');
    await assert.rejects(insert('react-hooks-stale-closure'), /duplicate key value violates unique constraint "ux_traces_seed_key"/);
  } finally {
    await client.end();
  }
});

test('the planner uses the HNSW index for ORDER BY embedding <=> $1 LIMIT 10', async (t) => {
  const url = adminUrl(baseConfig.databaseUrl, uniqueName('ct_hnsw').replace(/-/g, '_'));
  t.after(() => dropDatabase(url));
  await migrateDatabase(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const user = await client.query<{ id: string }>(`INSERT INTO users (email) VALUES ('hnsw@test.invalid') RETURNING id`);
    await client.query('BEGIN');
    for (let i = 0; i < 300; i++) {
      await client.query(
        `INSERT INTO traces (title, context_text, solution_text, contributor_id, embedding) VALUES ($1, 'c', 's', $2, $3)`,
        [`trace ${i}`, user.rows[0]!.id, randomUnitVector(EMBEDDING_DIMENSIONS)],
      );
    }
    await client.query('COMMIT');
    await client.query('ANALYZE traces');

    await client.query('BEGIN');
    await client.query('SET LOCAL enable_seqscan = off');
    const plan = await client.query<{ 'QUERY PLAN': unknown }>(
      'EXPLAIN (FORMAT JSON) SELECT id FROM traces ORDER BY embedding <=> $1 LIMIT 10',
      [randomUnitVector(EMBEDDING_DIMENSIONS)],
    );
    await client.query('COMMIT');
    const planText = JSON.stringify(plan.rows[0]!['QUERY PLAN']);
    assert.match(planText, new RegExp(`"Index Name":"${HNSW_INDEX_NAME}"`));

    const result = await client.query('SELECT id FROM traces ORDER BY embedding <=> $1 LIMIT 10', [randomUnitVector(EMBEDDING_DIMENSIONS)]);
    assert.equal(result.rowCount, 10);
  } finally {
    await client.end();
  }
});
