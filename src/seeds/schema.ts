/**
 * The shape of one entry in a seed-traces file. Limits are exported so the importer, the validator
 * and any generator agree on them; the validator turns zod issues into plain sentences here, next
 * to the schema they describe.
 */
import { z } from 'zod';

export const SLUG_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const SEED_KEY_MAX_LENGTH = 80;
export const TITLE_MIN_LENGTH = 10;
export const TITLE_MAX_LENGTH = 200;
export const CONTEXT_MIN_LENGTH = 50;
export const CONTEXT_MAX_LENGTH = 4000;
export const SOLUTION_MAX_LENGTH = 12000;
export const TAGS_MIN = 2;
export const TAGS_MAX = 6;
export const CLUSTER_MAX_LENGTH = 60;
export const AGENT_FIELD_MAX_LENGTH = 100;

export const seedTraceSchema = z.strictObject({
  seed_key: z.string().max(SEED_KEY_MAX_LENGTH).regex(SLUG_PATTERN),
  // Trimmed first so a title padded with spaces cannot pass the minimum length.
  title: z.string().trim().min(TITLE_MIN_LENGTH).max(TITLE_MAX_LENGTH),
  context: z.string().min(CONTEXT_MIN_LENGTH).max(CONTEXT_MAX_LENGTH),
  solution: z
    .string()
    .max(SOLUTION_MAX_LENGTH)
    .refine((s) => s.trim().length > 0, { message: 'must not be empty' }),
  tags: z.array(z.string()).min(TAGS_MIN).max(TAGS_MAX),
  cluster: z.string().max(CLUSTER_MAX_LENGTH).regex(SLUG_PATTERN),
  agent_model: z.string().trim().min(1).max(AGENT_FIELD_MAX_LENGTH),
  agent_version: z.string().trim().min(1).max(AGENT_FIELD_MAX_LENGTH),
});

export type SeedTrace = z.infer<typeof seedTraceSchema>;

export const SEED_TRACE_FIELDS = Object.keys(seedTraceSchema.shape);

export interface SchemaProblem {
  /** Path below the entry, e.g. ['tags', 3]. */
  path: (string | number)[];
  message: string;
}

/** Validates one entry and describes every issue in words an author can act on. */
export function seedTraceProblems(entry: unknown): SchemaProblem[] {
  const result = seedTraceSchema.safeParse(entry, { reportInput: true });
  if (result.success) return [];
  return result.error.issues.flatMap((issue) => describeIssue(issue, entry));
}

function describeIssue(issue: z.core.$ZodIssue, entry: unknown): SchemaProblem[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  switch (issue.code) {
    case 'invalid_type': {
      const value = valueAt(entry, path);
      if (value === undefined) return [{ path, message: 'required field is missing' }];
      return [{ path, message: `expected ${article(issue.expected)}, got ${typeName(value)}` }];
    }
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], message: `unknown field (allowed: ${SEED_TRACE_FIELDS.join(', ')})` }));
    case 'too_small':
      if (issue.origin === 'string' && Number(issue.minimum) === 1) return [{ path, message: 'must not be empty' }];
      return [{ path, message: `must have at least ${issue.minimum} ${unit(issue.origin)}, got ${sizeOf(issue.input)}` }];
    case 'too_big':
      return [{ path, message: `must have at most ${issue.maximum} ${unit(issue.origin)}, got ${sizeOf(issue.input)}` }];
    case 'invalid_format':
      return [{ path, message: `must be a lowercase slug like "docker-compose-healthcheck" (${SLUG_PATTERN.source}), got ${JSON.stringify(issue.input)}` }];
    default:
      return [{ path, message: issue.message }];
  }
}

function valueAt(root: unknown, path: (string | number)[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function unit(origin: string): string {
  return origin === 'array' ? 'items' : 'characters';
}

function sizeOf(input: unknown): number | string {
  if (typeof input === 'string' || Array.isArray(input)) return input.length;
  return '?';
}
