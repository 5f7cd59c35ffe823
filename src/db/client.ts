import pg from 'pg';
import { searchSessionOptions } from './hnsw.js';
import { logger, rateLimitedWarn } from '../logger.js';

export function createPool(databaseUrl: string, options: pg.PoolConfig = {}): pg.Pool {
  const config: pg.PoolConfig = {
    connectionString: databaseUrl,
    max: 10,
    connectionTimeoutMillis: 5_000,
    application_name: 'commontrace-launch',
    // Every pool can serve searches, which rely on these settings instead of per-query SET LOCAL.
    options: searchSessionOptions(),
    ...options,
  };
  const pool = new pg.Pool(config);
  // An idle client that loses its server (restart, pg_terminate_backend) emits 'error' on the pool;
  // without a listener that would crash the worker instead of failing one activity attempt.
  // A server restart fails every idle client at once: one line per 10 s per pool, with a count.
  const warn = rateLimitedWarn(logger.child({ component: 'db', pool: config.application_name, database: databaseName(databaseUrl) }));
  pool.on('error', (err) => warn(err, 'idle database client lost its connection'));
  return pool;
}

/**
 * Ends the pool and waits until each of its connections has closed. `pool.end()` resolves as soon as
 * it has told its clients to end, before their sockets close: a `DROP DATABASE … WITH (FORCE)` or a
 * `CREATE DATABASE … TEMPLATE` right after it can still meet them, terminating one (an 'error' that a
 * pool without a listener throws) or refusing a template "being accessed by other users".
 */
export async function endPool(pool: pg.Pool): Promise<void> {
  // Each connection the pool holds emits 'remove' once its socket has ended (a connection attempt
  // still in flight would not: call this once the pool's work is done).
  let open = pool.totalCount;
  const closed = new Promise<void>((resolve) => {
    if (open === 0) return resolve();
    pool.on('remove', () => {
      if (--open === 0) resolve();
    });
  });
  await pool.end();
  await closed;
}

function databaseName(databaseUrl: string): string | undefined {
  try {
    return decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, '')) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks out a client for several queries. The pool listens for a client's 'error' only while it is
 * idle, so a backend that dies while the client is checked out (pg_terminate_backend, a server
 * restart) would emit an unhandled 'error' and crash the worker; the failure still reaches the
 * caller through its failing query. `done` returns the client, destroying it if its connection died.
 */
/** `done(true)` destroys the connection instead of returning it (for sessions with altered settings). */
export async function checkOut(pool: pg.Pool): Promise<{ client: pg.PoolClient; done: (destroy?: boolean) => void }> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (err: Error) => (lost = err);
  client.on('error', onError);
  return {
    client,
    done: (destroy = false) => {
      client.off('error', onError);
      client.release(lost ?? destroy);
    },
  };
}

/** Runs `fn` inside one transaction on a dedicated client; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const { client, done } = await checkOut(pool);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    done();
  }
}
