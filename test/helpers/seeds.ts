/** Seed fixtures and clean-up shared by the cold-start tests. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveProjectPath, DEFAULT_SEED_FIXTURE } from '../../src/paths.js';
import { SEED_CONTRIBUTOR_EMAIL } from '../../src/seeds/import.js';
import type { SeedTrace } from '../../src/seeds/schema.js';
import { testPool } from './db.js';

export const SEED_COUNT = 330;

export async function loadSeeds(file = DEFAULT_SEED_FIXTURE): Promise<SeedTrace[]> {
  return JSON.parse(await readFile(resolveProjectPath(file), 'utf8')) as SeedTrace[];
}

/**
 * Removes every seed trace (the contributor's rows cascade) and the tags nothing references any
 * more, so files that need exact counts start clean and leave the shared test database as found.
 */
export async function deleteSeeds(): Promise<void> {
  const pool = testPool();
  await pool.query('DELETE FROM users WHERE email = $1', [SEED_CONTRIBUTOR_EMAIL]);
  await pool.query('DELETE FROM traces WHERE is_seed');
  await pool.query('DELETE FROM tags tg WHERE NOT EXISTS (SELECT 1 FROM trace_tags tt WHERE tt.tag_id = tg.id)');
}

export async function seedStats(): Promise<{ rows: number; distinctKeys: number; embedded: number }> {
  const { rows } = await testPool().query<{ rows: number; distinct_keys: number; embedded: number }>(
    `SELECT count(*)::int AS rows, count(DISTINCT seed_key)::int AS distinct_keys,
            count(embedding)::int AS embedded
       FROM traces WHERE is_seed`,
  );
  const r = rows[0]!;
  return { rows: r.rows, distinctKeys: r.distinct_keys, embedded: r.embedded };
}

/** A fixture file in a fresh temp dir; remove it with the returned cleanup. */
export async function tempFixture(content: unknown): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ct-seeds-'));
  const file = path.join(dir, 'seeds.json');
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return { path: file, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
