import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { createSeedActivities } from '../../src/activities/seeds.js';
import type { ActivityDeps } from '../../src/activities/deps.js';
import { ensureSeedContributor, importSeedChunk, seedContentHash, SEED_CONTRIBUTOR_EMAIL } from '../../src/seeds/import.js';
import type { SeedTrace } from '../../src/seeds/schema.js';
import { baseConfig } from '../helpers/config.js';
import { closeTestPool, scalar, testPool } from '../helpers/db.js';
import { deleteSeeds, loadSeeds, tempFixture } from '../helpers/seeds.js';

let seeds: SeedTrace[];
/** The first seed with tags that need normalizing (and collapse to two). */
let messy: SeedTrace;

before(async () => {
  await deleteSeeds();
  seeds = (await loadSeeds()).slice(0, 8);
  messy = { ...seeds[0]!, tags: ['Docker Compose', 'docker_compose', '  PostgreSQL '] };
});
after(async () => {
  await deleteSeeds();
  await closeTestPool();
});

test('the seed contributor is a system user, created once; a non-system row with its e-mail is never adopted', async () => {
  const pool = testPool();
  await pool.query(`INSERT INTO users (email, is_seed) VALUES ($1, false)`, [SEED_CONTRIBUTOR_EMAIL]);
  await assert.rejects(ensureSeedContributor(pool), (err: unknown) => err instanceof ApplicationFailure && err.type === 'SystemUserConflict' && err.nonRetryable === true);
  assert.equal(await scalar<boolean>('SELECT is_seed FROM users WHERE email = $1', [SEED_CONTRIBUTOR_EMAIL]), false, 'the non-system row is untouched');
  await deleteSeeds();
  const id = await ensureSeedContributor(pool);
  assert.equal(await ensureSeedContributor(pool), id);
  assert.equal(await scalar<boolean>('SELECT is_seed AND is_system FROM users WHERE id = $1', [id]), true);
  assert.equal(await scalar<number>('SELECT count(*)::int FROM users WHERE email = $1', [SEED_CONTRIBUTOR_EMAIL]), 1);
});

test('a chunk inserts validated, trusted, unembedded seeds with normalized tags', async () => {
  const pool = testPool();
  const contributor = await ensureSeedContributor(pool);
  const counts = await importSeedChunk(pool, [messy, ...seeds.slice(1, 4)], contributor);
  assert.deepEqual(counts, { inserted: 4, updated: 0, skipped: 0 });

  const { rows } = await pool.query(
    `SELECT status, trust_score, confirmation_count, is_seed, is_flagged, embedding IS NULL AS no_vector,
            embedding_model_id, contributor_id, agent_model, agent_version, title, context_text, solution_text,
            (SELECT array_agg(tg.name ORDER BY tg.name) FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id WHERE tt.trace_id = t.id) AS tags
       FROM traces t WHERE seed_key = $1`,
    [messy.seed_key],
  );
  assert.deepEqual(rows[0], {
    status: 'validated', trust_score: 1, confirmation_count: 2, is_seed: true, is_flagged: false, no_vector: true,
    embedding_model_id: null, contributor_id: contributor, agent_model: messy.agent_model, agent_version: messy.agent_version,
    title: messy.title, context_text: messy.context, solution_text: messy.solution, tags: ['docker-compose', 'postgresql'],
  });
});

test('re-importing is keyed by seed_key: unchanged skipped, changed updated with its vector reset', async () => {
  const pool = testPool();
  const contributor = await ensureSeedContributor(pool);
  await pool.query(
    `UPDATE traces SET embedding = array_fill(0.5, ARRAY[1536])::vector, embedding_model_id = 'm' WHERE is_seed`,
  );
  const changed = { ...seeds[1]!, solution: `${seeds[1]!.solution}\n\nAlso confirmed on the latest release.`, tags: [...seeds[1]!.tags, 'regression'] };
  // Tags that normalize the same way are the same content.
  const respelled = { ...seeds[2]!, tags: seeds[2]!.tags.map((t) => ` ${t.toUpperCase()} `) };
  assert.equal(seedContentHash(respelled), seedContentHash(seeds[2]!));

  const counts = await importSeedChunk(pool, [messy, changed, respelled, ...seeds.slice(3, 8)], contributor);
  assert.deepEqual(counts, { inserted: 4, updated: 1, skipped: 3 });

  const state = await pool.query<{ seed_key: string; reset: boolean; solution_text: string; has_regression: boolean }>(
    `SELECT seed_key, embedding IS NULL AND embedding_model_id IS NULL AS reset, solution_text,
            EXISTS (SELECT 1 FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id WHERE tt.trace_id = t.id AND tg.name = 'regression') AS has_regression
       FROM traces t WHERE seed_key = ANY($1)`,
    [[seeds[1]!.seed_key, seeds[2]!.seed_key]],
  );
  const byKey = new Map(state.rows.map((r) => [r.seed_key, r]));
  assert.equal(byKey.get(changed.seed_key)!.reset, true, 'the changed seed is queued for re-embedding');
  assert.equal(byKey.get(changed.seed_key)!.solution_text, changed.solution);
  assert.equal(byKey.get(changed.seed_key)!.has_regression, true, 'its tags are replaced');
  assert.equal(byKey.get(respelled.seed_key)!.reset, false, 'an unchanged seed keeps its vector');
  assert.equal(await scalar<number>('SELECT count(*)::int FROM traces WHERE is_seed'), 8);
});

test('a chunk is one transaction: a failing seed rolls back the whole chunk', async () => {
  const pool = testPool();
  const contributor = await ensureSeedContributor(pool);
  const before = await scalar<number>('SELECT count(*)::int FROM traces WHERE is_seed');
  const fresh = { ...seeds[0]!, seed_key: 'transaction-test-fresh-seed' };
  const broken = { ...seeds[1]!, seed_key: 'transaction-test-broken-seed', title: null as unknown as string };
  await assert.rejects(importSeedChunk(pool, [fresh, broken], contributor), /null value/);
  assert.equal(await scalar<number>('SELECT count(*)::int FROM traces WHERE is_seed'), before);
});

test('a fixture edited after validation is refused, not half-imported', async () => {
  const fixture = await tempFixture(seeds.slice(0, 3));
  try {
    const activities = createSeedActivities({ pool: testPool(), config: baseConfig } as ActivityDeps);
    const validated = await activities.validateSeedFixture({ path: fixture.path, corpus: false });
    assert.equal(validated.count, 3);
    const contributorId = await activities.ensureSeedContributor();
    await assert.rejects(
      activities.importSeedChunk({ path: fixture.path, fileHash: 'f'.repeat(64), start: 0, end: 3, contributorId }),
      (err: unknown) => err instanceof ApplicationFailure && err.nonRetryable && err.type === 'SeedFixtureChanged',
    );
  } finally {
    await fixture.cleanup();
  }
});
