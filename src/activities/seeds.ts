import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { resolveProjectPath } from '../paths.js';
import { createBlockResultCache } from '../seeds/code-blocks/registry.js';
import { validateSeedFile } from '../seeds/validate.js';
import { ensureSeedContributor, importSeedChunk, type ImportCounts } from '../seeds/import.js';
import type { SeedTrace } from '../seeds/schema.js';
import type { ActivityDeps } from './deps.js';

export interface ValidatedFixture {
  path: string;
  fileHash: string;
  count: number;
}

export interface SeedChunk {
  path: string;
  fileHash: string;
  start: number;
  end: number;
  contributorId: string;
}

const MAX_PROBLEMS_IN_MESSAGE = 40;

async function readFixture(path: string): Promise<{ bytes: Buffer; hash: string }> {
  const bytes = await readFile(path);
  return { bytes, hash: createHash('sha256').update(bytes).digest('hex') };
}

export function createSeedActivities({ pool }: Pick<ActivityDeps, 'pool'>) {
  // Code blocks this worker has checked: a re-import of an unchanged fixture re-checks none.
  const checkedBlocks = createBlockResultCache();
  return {
    /** Validation happens before any write; a bad fixture is bad on every retry, so it is non-retryable. */
    async validateSeedFixture(input: { path: string; corpus?: boolean }): Promise<ValidatedFixture> {
      const path = resolveProjectPath(input.path);
      const { hash } = await readFixture(path).catch((err: Error) => {
        throw ApplicationFailure.nonRetryable(`Cannot read seed fixture ${path}: ${err.message}`, 'SeedFixtureMissing');
      });
      const report = await validateSeedFile(path, { corpus: input.corpus ?? true, cache: checkedBlocks });
      if (!report.ok) {
        const lines = report.problems
          .slice(0, MAX_PROBLEMS_IN_MESSAGE)
          .map((p) => `  - ${p.seedKey ?? '(file)'} ${p.path}: ${p.message}`);
        const more = report.problems.length > MAX_PROBLEMS_IN_MESSAGE ? `\n  … and ${report.problems.length - MAX_PROBLEMS_IN_MESSAGE} more` : '';
        throw ApplicationFailure.nonRetryable(
          `Seed fixture ${path} is invalid (${report.problems.length} problem(s)); nothing was written. ` +
            `Fix them and re-run (\`npm run cli -- seeds validate ${input.path}\` lists them):\n${lines.join('\n')}${more}`,
          'InvalidSeedFixture',
          report.problems,
        );
      }
      return { path, fileHash: hash, count: report.traces };
    },

    async ensureSeedContributor(): Promise<string> {
      return ensureSeedContributor(pool);
    },

    async importSeedChunk(chunk: SeedChunk): Promise<ImportCounts> {
      const { bytes, hash } = await readFixture(chunk.path);
      // The file was validated by hash; a file edited mid-run must be re-validated, not half-imported.
      if (hash !== chunk.fileHash) {
        throw ApplicationFailure.nonRetryable(
          `Seed fixture ${chunk.path} changed after validation; start the import again so the new content is validated first`,
          'SeedFixtureChanged',
        );
      }
      const seeds = (JSON.parse(bytes.toString('utf8')) as SeedTrace[]).slice(chunk.start, chunk.end);
      return importSeedChunk(pool, seeds, chunk.contributorId);
    },
  };
}
