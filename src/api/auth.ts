/**
 * API keys: 32 random bytes shown once at registration; only their SHA-256 is stored. A fast hash is
 * right here (unlike passwords): the key is high-entropy, so there is nothing to brute-force, and
 * every authenticated request looks it up.
 */
import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authenticate hook on protected routes. */
    userId: string;
  }
}

const KEY_PREFIX = 'ct_';

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1]! : null;
}

/** onRequest hook: runs before the body is read, so unauthenticated clients cost no parsing. */
export function authenticate(pool: pg.Pool) {
  return async function authenticateHook(request: FastifyRequest, reply: FastifyReply) {
    const key = bearerToken(request.headers.authorization);
    const unauthorized = (message: string) =>
      reply.code(401).header('WWW-Authenticate', 'Bearer realm="commontrace"').send({ error: 'unauthorized', message });
    if (!key) return unauthorized('Send your API key as "Authorization: Bearer <api_key>" (POST /api/v1/auth/register issues one).');
    const { rows } = await pool.query<{ id: string }>('SELECT id FROM users WHERE api_key_hash = $1', [hashApiKey(key)]);
    if (!rows[0]) return unauthorized('The API key is not valid. Register again to get a new one.');
    request.userId = rows[0].id;
  };
}
