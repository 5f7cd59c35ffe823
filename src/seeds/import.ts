/**
 * Writes curated seeds into the traces table. Idempotent by seed_key: unchanged seeds are skipped,
 * changed ones are updated and their embedding reset so the backfill re-embeds them.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from '../db/client.js';
import { ensureSystemUser } from '../db/system-users.js';
import { replaceTraceTags } from '../db/trace-tags.js';
import { normalizeTags } from '../tags.js';
import type { SeedTrace } from './schema.js';

export const SEED_CONTRIBUTOR_EMAIL = 'seeds@commontrace.internal';
/** Seeds skip the confirmation flow: a human curated them, so they start at the validation threshold. */
export const SEED_CONFIRMATION_COUNT = 2;

export interface ImportCounts {
  inserted: number;
  updated: number;
  skipped: number;
}

export function seedContentHash(seed: SeedTrace): string {
  const { tags } = normalizeTags(seed.tags);
  return createHash('sha256')
    .update(JSON.stringify([seed.title, seed.context, seed.solution, [...tags].sort(), seed.agent_model, seed.agent_version]))
    .digest('hex');
}

/**
 * The seed contributor: a system user (users.is_system), created on first use. A non-system row
 * holding its e-mail is never adopted: the import fails with a non-retryable SystemUserConflict.
 */
export async function ensureSeedContributor(pool: pg.Pool): Promise<string> {
  return ensureSystemUser(pool, { email: SEED_CONTRIBUTOR_EMAIL, displayName: 'CommonTrace Seeds', isSeed: true });
}

/** One transaction for the whole chunk: a crash leaves either all of it or none of it. */
export async function importSeedChunk(pool: pg.Pool, seeds: readonly SeedTrace[], contributorId: string): Promise<ImportCounts> {
  return withTransaction(pool, async (client) => {
    const counts: ImportCounts = { inserted: 0, updated: 0, skipped: 0 };
    for (const seed of seeds) {
      const { rows } = await client.query<{ id: string; inserted: boolean }>(
        `INSERT INTO traces (title, context_text, solution_text, status, trust_score, confirmation_count,
                             is_seed, contributor_id, agent_model, agent_version, seed_key, content_hash)
         VALUES ($1, $2, $3, 'validated', 1.0, $4, true, $5, $6, $7, $8, $9)
         ON CONFLICT (seed_key) WHERE seed_key IS NOT NULL DO UPDATE SET
           title = EXCLUDED.title, context_text = EXCLUDED.context_text, solution_text = EXCLUDED.solution_text,
           agent_model = EXCLUDED.agent_model, agent_version = EXCLUDED.agent_version,
           content_hash = EXCLUDED.content_hash, status = 'validated', is_seed = true,
           embedding = NULL, embedding_model_id = NULL, updated_at = now()
         WHERE traces.content_hash IS DISTINCT FROM EXCLUDED.content_hash
         RETURNING id, (xmax = 0) AS inserted`,
        [seed.title, seed.context, seed.solution, SEED_CONFIRMATION_COUNT, contributorId,
          seed.agent_model, seed.agent_version, seed.seed_key, seedContentHash(seed)],
      );
      const row = rows[0];
      if (!row) {
        counts.skipped++;
        continue;
      }
      if (row.inserted) counts.inserted++;
      else counts.updated++;
      await replaceTraceTags(client, row.id, normalizeTags(seed.tags).tags);
    }
    return counts;
  });
}
