/**
 * Accounts and their keys: register (limited per client address), rotate and revoke the key a request
 * authenticated with, and delete one's own user. A user holds one key at a time (users.api_key_hash);
 * every change is conditional on the presented key still being that key, so two racing rotations of
 * one key cannot both succeed. This process's key cache forgets the old key at once; other API
 * processes stop accepting it within API_KEY_CACHE_TTL_MS.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { authenticate, generateApiKey, hashApiKey, unauthorized, UNKNOWN_KEY_MESSAGE } from './auth.js';
import { rateLimit } from './rate-limit.js';
import type { RouteContext } from './routes.js';
import { parseBody, registerBody } from './schemas.js';

/** A response carrying a new key: shown once, so no cache may keep it. */
function sendKey(reply: FastifyReply, status: number, userId: string, apiKey: string): FastifyReply {
  return reply.code(status).header('Cache-Control', 'no-store').send({ user_id: userId, api_key: apiKey });
}

export function registerAccountRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { config, pool, limiter, metrics, apiKeys } = ctx;
  const keyHooks = [authenticate(apiKeys), rateLimit('write', limiter, config.rateLimit, metrics)];
  // Revoking a key or deleting the account ends the key, so each can succeed once per key: a limit
  // adds nothing there, and would stop a client that has spent its write budget from cleaning up.
  const endKeyHooks = [authenticate(apiKeys)];

  // Limited per client address before the body is read: each registration mints a key with its own
  // read and write budgets, so an unlimited register would multiply those budgets at will.
  app.post('/api/v1/auth/register', { onRequest: rateLimit('register', limiter, config.rateLimit, metrics) }, async (request, reply) => {
    const body = parseBody(registerBody, request.body, reply);
    if (!body) return reply;
    const apiKey = generateApiKey();
    try {
      const { rows } = await pool.query<{ id: string }>(
        'INSERT INTO users (email, display_name, api_key_hash) VALUES ($1, $2, $3) RETURNING id',
        [body.email, body.display_name ?? null, hashApiKey(apiKey)],
      );
      // The key is shown once: only its hash is stored.
      return sendKey(reply, 201, rows[0]!.id, apiKey);
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
      return reply.code(409).send({
        error: 'email_taken',
        message: `${body.email} is already registered. Use its API key, or register another address.`,
      });
    }
  });

  app.post('/api/v1/auth/keys/rotate', { onRequest: keyHooks }, async (request, reply) => {
    const apiKey = generateApiKey();
    const { rows } = await pool.query<{ id: string }>(
      'UPDATE users SET api_key_hash = $3 WHERE id = $1 AND api_key_hash = $2 RETURNING id',
      [request.userId, request.apiKeyHash, hashApiKey(apiKey)],
    );
    apiKeys.invalidate(request.apiKeyHash);
    // No row: the key changed since this process cached it (rotated or revoked elsewhere).
    if (!rows[0]) return unauthorized(reply, UNKNOWN_KEY_MESSAGE);
    return sendKey(reply, 200, rows[0].id, apiKey);
  });

  app.delete('/api/v1/auth/keys/current', { onRequest: endKeyHooks }, async (request, reply) => {
    const { rowCount } = await pool.query('UPDATE users SET api_key_hash = NULL WHERE id = $1 AND api_key_hash = $2', [
      request.userId,
      request.apiKeyHash,
    ]);
    apiKeys.invalidate(request.apiKeyHash);
    if (!rowCount) return unauthorized(reply, UNKNOWN_KEY_MESSAGE);
    return reply.code(204).send();
  });

  // The user row goes, and with it (ON DELETE CASCADE) its traces; system users are the project's own.
  app.delete('/api/v1/users/me', { onRequest: endKeyHooks }, async (request, reply) => {
    const { rowCount } = await pool.query('DELETE FROM users WHERE id = $1 AND api_key_hash = $2 AND NOT is_system', [
      request.userId,
      request.apiKeyHash,
    ]);
    if (rowCount) {
      apiKeys.invalidate(request.apiKeyHash);
      return reply.code(204).send();
    }
    const { rows } = await pool.query<{ is_system: boolean }>('SELECT is_system FROM users WHERE id = $1 AND api_key_hash = $2', [
      request.userId,
      request.apiKeyHash,
    ]);
    if (rows[0]?.is_system) {
      return reply.code(403).send({
        error: 'forbidden',
        message: 'This is a system user (seed or capacity contributor): it belongs to CommonTrace itself and cannot be deleted through the API.',
      });
    }
    apiKeys.invalidate(request.apiKeyHash);
    return unauthorized(reply, UNKNOWN_KEY_MESSAGE);
  });
}
