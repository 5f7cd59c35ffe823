import type pg from 'pg';
import { createPool } from '../../src/db/client.js';
import { baseConfig } from './env.js';

let pool: pg.Pool | undefined;
/** One shared pool per test file, for assertions that read the database directly (with the search session settings). */
export function testPool(): pg.Pool {
  pool ??= createPool(baseConfig.databaseUrl, { max: 4, application_name: 'commontrace-launch:test' });
  return pool;
}

export async function closeTestPool(): Promise<void> {
  await pool?.end();
  pool = undefined;
}

export async function scalar<T = number>(sql: string, params: unknown[] = []): Promise<T> {
  const { rows } = await testPool().query(sql, params);
  return Object.values(rows[0] as Record<string, unknown>)[0] as T;
}

export async function waitFor(predicate: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
