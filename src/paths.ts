import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, so fixture paths mean the same thing whatever the worker's cwd is. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export function resolveProjectPath(p: string): string {
  return path.isAbsolute(p) ? p : path.join(PROJECT_ROOT, p);
}

export const DEFAULT_SEED_FIXTURE = 'fixtures/seed_traces.json';
export const DEFAULT_GOLDEN_QUERIES = 'fixtures/golden_queries.json';

/** The 12-trace sample is a template, not a corpus: the corpus-size rules do not apply to it. */
export function isSampleFixture(p: string): boolean {
  return path.basename(p) === 'sample_traces.json';
}
