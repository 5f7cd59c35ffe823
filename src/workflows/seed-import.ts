import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { ProgressTracker } from './progress.js';

export interface SeedImportInput {
  /** Fixture path, relative to the project root unless absolute. */
  path?: string;
  chunkSize?: number;
  /** Pause between chunks, to spread load on a busy production database. */
  throttleMs?: number;
  /** Apply the corpus-size rules (≥60 clusters of 3–6); off for small fixtures. */
  corpus?: boolean;
}

export interface SeedImportResult {
  path: string;
  total: number;
  inserted: number;
  updated: number;
  skipped: number;
  chunks: number;
}

const DEFAULT_PATH = 'fixtures/seed_traces.json';
export const DEFAULT_CHUNK_SIZE = 50;

const { validateSeedFixture, ensureSeedContributor, importSeedChunk } = proxyActivities<Activities>({
  // A chunk is one short transaction (50 seeds take well under a second); a worker that dies
  // mid-chunk is noticed within this bound, and the chunk runs again (its rows are keyed by seed_key).
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/**
 * Validates the fixture (nothing is written if it is invalid), then imports it in chunks, each
 * chunk one transaction keyed by seed_key, so a crash at any point resumes without duplicates.
 */
export async function seedImport(input: SeedImportInput = {}): Promise<SeedImportResult> {
  const chunkSize = input.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const progress = new ProgressTracker('seedImport', 0, 'seeds');
  progress.state.message = 'validating fixture';

  const fixture = await validateSeedFixture.executeWithOptions(
    { summary: `validate ${input.path ?? DEFAULT_PATH}`, startToCloseTimeout: '5 minutes' },
    [{ path: input.path ?? DEFAULT_PATH, corpus: input.corpus ?? true }],
  );
  progress.state.total = fixture.count;
  const contributorId = await ensureSeedContributor();

  const totals = { inserted: 0, updated: 0, skipped: 0 };
  const chunks = Math.ceil(fixture.count / chunkSize);
  for (let i = 0; i < chunks; i++) {
    const start = i * chunkSize;
    const end = Math.min(fixture.count, start + chunkSize);
    const counts = await importSeedChunk.executeWithOptions(
      { summary: `chunk ${i + 1}/${chunks}: seeds ${start + 1}-${end}` },
      [{ path: fixture.path, fileHash: fixture.fileHash, start, end, contributorId }],
    );
    totals.inserted += counts.inserted;
    totals.updated += counts.updated;
    totals.skipped += counts.skipped;
    progress.advance(end - start, `chunk ${i + 1}/${chunks}`);
    progress.publish('Seed import', [
      ['fixture', fixture.path],
      ['chunks', `${i + 1}/${chunks}`],
      ['inserted / updated / skipped', `${totals.inserted} / ${totals.updated} / ${totals.skipped}`],
    ]);
    if (input.throttleMs && i + 1 < chunks) await sleep(input.throttleMs);
  }
  progress.finish('succeeded', `${totals.inserted} inserted, ${totals.updated} updated, ${totals.skipped} skipped`);
  return { path: fixture.path, total: fixture.count, chunks, ...totals };
}
