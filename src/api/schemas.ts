/** Request bodies, validated with zod; a bad body gets 400 with the errors per field. */
import { z } from 'zod';
import type { FastifyReply } from 'fastify';
import { isReservedEmail, SYSTEM_EMAIL_DOMAIN } from '../db/system-users.js';
import { MAX_K } from '../search/search.js';
import {
  AGENT_FIELD_MAX_LENGTH,
  CONTEXT_MAX_LENGTH,
  SOLUTION_MAX_LENGTH,
  TAGS_MAX,
  TITLE_MAX_LENGTH,
  TITLE_MIN_LENGTH,
} from '../seeds/schema.js';
import { normalizeTags } from '../tags.js';

export const QUERY_MAX_LENGTH = 1_000;
export const SEARCH_TAGS_MAX = 10;
const TAG_INPUT_MAX_LENGTH = 100;

export const NUL_MESSAGE = 'must not contain the NUL character (U+0000): PostgreSQL text cannot store it';
export const RESERVED_DOMAIN_MESSAGE =
  `addresses at ${SYSTEM_EMAIL_DOMAIN} and its subdomains are reserved for CommonTrace's own system users; register another address`;

/**
 * Every string of a body: PostgreSQL text cannot hold U+0000, so such a value would fail its statement
 * (a 500); it is a 400 naming the field instead, checked first and alone (the later checks are skipped).
 */
const text = () => z.string().refine((value) => !value.includes('\u0000'), { message: NUL_MESSAGE, abort: true });

export const registerBody = z.strictObject({
  email: text()
    .pipe(z.email().max(254))
    .transform((e) => e.toLowerCase())
    .refine((e) => !isReservedEmail(e), { message: RESERVED_DOMAIN_MESSAGE }),
  display_name: text().trim().min(1).max(100).optional(),
});

export const searchBody = z.strictObject({
  q: text().trim().min(1).max(QUERY_MAX_LENGTH),
  limit: z.number().int().min(1).max(MAX_K).default(10),
  // Tags filter the search; one that no trace carries simply matches nothing.
  tags: z.array(text().max(TAG_INPUT_MAX_LENGTH)).max(SEARCH_TAGS_MAX).default([]),
});

export const contributeBody = z.strictObject({
  title: text().trim().min(TITLE_MIN_LENGTH).max(TITLE_MAX_LENGTH),
  context: text().trim().min(1).max(CONTEXT_MAX_LENGTH),
  solution: text().trim().min(1).max(SOLUTION_MAX_LENGTH),
  // Stored tags must be valid ones (src/tags.ts), so each is normalized and checked here.
  tags: z
    .array(text().max(TAG_INPUT_MAX_LENGTH))
    .max(TAGS_MAX)
    .default([])
    .transform((raw, ctx) => {
      const { tags, invalid } = normalizeTags(raw);
      for (const i of invalid) ctx.addIssue({ code: 'custom', message: i.problem, path: [raw.indexOf(i.raw)] });
      return tags;
    }),
  agent_model: text().trim().min(1).max(AGENT_FIELD_MAX_LENGTH).optional(),
  agent_version: text().trim().min(1).max(AGENT_FIELD_MAX_LENGTH).optional(),
});

/** The parsed body, or undefined after answering 400 with every problem by field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, reply: FastifyReply): z.output<S> | undefined {
  const parsed = schema.safeParse(body ?? null);
  if (parsed.success) return parsed.data;
  const fields: Record<string, string[]> = {};
  for (const issue of parsed.error.issues) {
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)';
    (fields[field] ??= []).push(issue.message);
  }
  void reply.code(400).send({
    error: 'invalid_body',
    message: `The request body is invalid: ${Object.entries(fields).map(([f, m]) => `${f}: ${m.join('; ')}`).join(' | ')}`,
    fields,
  });
  return undefined;
}
