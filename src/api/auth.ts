/**
 * API keys: 32 random bytes shown once at registration; only their SHA-256 is stored. A fast hash is
 * right here (unlike passwords): the key is high-entropy, so there is nothing to brute-force, and
 * every authenticated request looks it up.
 *
 * Lookups go through a bounded in-process cache keyed by that hash (never the raw key), so a busy
 * key costs one users query per TTL instead of one per request. The price: a key deleted or rotated
 * in the database keeps working for up to the TTL in each API process, unless that process is told
 * (invalidate / clear); the rotate, revoke and delete endpoints tell their own process at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type pg from 'pg';
import type { FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authenticate hook on protected routes. */
    userId: string;
    /** SHA-256 of the key the request authenticated with (set with userId); rotate and revoke act on it. */
    apiKeyHash: string;
  }
}

/** The 401 answer for a key no user holds, whatever the reason: the key cannot tell which one it was. */
export const UNKNOWN_KEY_MESSAGE =
  'The API key is unknown, revoked or rotated. Use your current key, or register a new account (POST /api/v1/auth/register) to get one.';

const KEY_PREFIX = 'ct_';
const USER_BY_KEY_HASH_SQL = 'SELECT id FROM users WHERE api_key_hash = $1';

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

/** Which user owns an API key, by the key's SHA-256 hash, with the answers kept for a while. */
export interface ApiKeyCache {
  /** The id of the user whose key has this hash, or undefined for an unknown key. */
  lookup(hash: string): Promise<string | undefined>;
  /** Forgets one key hash in this process at once (e.g. right after revoking or rotating it). */
  invalidate(hash: string): void;
  /** Forgets every key in this process. */
  clear(): void;
  /** Keys currently held (including lookups in flight). */
  readonly size: number;
}

export interface ApiKeyCacheOptions {
  /** How long a found key is trusted without asking the database again; 0 asks every time. */
  ttlMs: number;
  /** Most keys held; the least recently used go first. */
  max: number;
}

/** A database failure inside the shared lookup, told apart from the cache cancelling the lookup. */
class KeyLookupFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('API key lookup failed');
  }
}

/**
 * Only found keys are kept, for ttlMs from the lookup (reading an entry does not extend it), so a
 * revocation takes effect within the TTL. Unknown keys are not cached: each costs one query, as it
 * would without a cache, and occupies a slot only while its lookup is in flight. Memory is bounded
 * by `max` whatever keys clients send; once the cache is full, each new key (valid or not) pushes out
 * the least recently used one, which then costs its owner one extra lookup.
 *
 * Concurrent requests with the same uncached key share one query (lru-cache coalesces fetches).
 */
export function createApiKeyCache(pool: pg.Pool, options: ApiKeyCacheOptions): ApiKeyCache {
  const find = async (hash: string): Promise<string | undefined> => {
    const { rows } = await pool.query<{ id: string }>(USER_BY_KEY_HASH_SQL, [hash]);
    return rows[0]?.id;
  };
  if (options.ttlMs === 0) {
    return { lookup: find, invalidate: () => undefined, clear: () => undefined, size: 0 };
  }
  const cache = new LRUCache<string, string>({
    max: options.max,
    ttl: options.ttlMs,
    // Resolving to undefined (unknown key) leaves nothing in the cache.
    fetchMethod: async (hash) => {
      try {
        return await find(hash);
      } catch (err) {
        throw new KeyLookupFailed(err);
      }
    },
  });
  return {
    async lookup(hash) {
      try {
        return await cache.fetch(hash);
      } catch (err) {
        if (err instanceof KeyLookupFailed) throw err.cause;
        // The shared lookup was cancelled because its entry was invalidated or evicted while in
        // flight; its answer may predate a revocation, so this request asks the database itself.
        return find(hash);
      }
    },
    invalidate: (hash) => void cache.delete(hash),
    clear: () => cache.clear(),
    get size() {
      return cache.size;
    },
  };
}

/** 401 with the Bearer challenge. */
export function unauthorized(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(401).header('WWW-Authenticate', 'Bearer realm="commontrace"').send({ error: 'unauthorized', message });
}

/** onRequest hook: runs before the body is read, so unauthenticated clients cost no parsing. */
export function authenticate(apiKeys: ApiKeyCache) {
  return async function authenticateHook(request: FastifyRequest, reply: FastifyReply) {
    const key = bearerToken(request.headers.authorization);
    if (!key) return unauthorized(reply, 'Send your API key as "Authorization: Bearer <api_key>" (POST /api/v1/auth/register issues one).');
    const hash = hashApiKey(key);
    const userId = await apiKeys.lookup(hash);
    if (!userId) return unauthorized(reply, UNKNOWN_KEY_MESSAGE);
    request.userId = userId;
    request.apiKeyHash = hash;
  };
}
