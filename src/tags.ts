/**
 * Tag normalization: the one implementation shared by the seed validator, the seed import and the
 * API, so the same human tag ("Docker Compose", "docker_compose") always lands on the same row.
 */
export const TAG_MAX_LENGTH = 50;
export const TAG_PATTERN = /^[a-z0-9][a-z0-9.+#-]*$/;

export function normalizeTag(raw: string): string {
  return raw.trim().toLowerCase().replace(/[\s_]+/g, '-');
}

/** Why a normalized tag is invalid, or null when it is fine. */
export function tagProblem(normalized: string): string | null {
  if (normalized.length === 0) return 'tag is empty';
  if (normalized.length > TAG_MAX_LENGTH) return `tag is longer than ${TAG_MAX_LENGTH} characters`;
  if (!TAG_PATTERN.test(normalized)) return `tag "${normalized}" must match ${TAG_PATTERN.source}`;
  return null;
}

/** Normalizes, drops duplicates and keeps the first-seen order. Invalid tags are returned separately. */
export function normalizeTags(raw: readonly string[]): { tags: string[]; invalid: { raw: string; problem: string }[] } {
  const tags: string[] = [];
  const invalid: { raw: string; problem: string }[] = [];
  for (const r of raw) {
    const t = normalizeTag(r);
    const problem = tagProblem(t);
    if (problem) invalid.push({ raw: r, problem });
    else if (!tags.includes(t)) tags.push(t);
  }
  return { tags, invalid };
}
