import type pg from 'pg';
import { createPool, endPool } from '../../src/db/client.js';
import { DEFAULT_INDEX_TYPE, hnswIndexName } from '../../src/db/hnsw.js';
import { baseConfig } from './config.js';

let pool: pg.Pool | undefined;
/** One shared pool per test file, for assertions that read the database directly (with the search session settings). */
/** The HNSW index capacity index builds make in the capacity database: the default type's. */
export const CAPACITY_INDEX = hnswIndexName(DEFAULT_INDEX_TYPE);

export function testPool(): pg.Pool {
  pool ??= createPool(baseConfig.databaseUrl, { max: 4, application_name: 'commontrace-launch:test' });
  return pool;
}

let capacity: pg.Pool | undefined;
/** The same for the capacity database (config.capacityDatabaseUrl), where capacity rows and their index live. */
export function capacityTestPool(): pg.Pool {
  capacity ??= createPool(baseConfig.capacityDatabaseUrl, { max: 4, application_name: 'commontrace-launch:test' });
  return capacity;
}

export async function closeTestPool(): Promise<void> {
  await Promise.all([pool, capacity].map((p) => p && endPool(p)));
  pool = undefined;
  capacity = undefined;
}

async function first<T>(target: pg.Pool, sql: string, params: unknown[]): Promise<T> {
  const { rows } = await target.query(sql, params);
  return Object.values(rows[0] as Record<string, unknown>)[0] as T;
}

/** The first column of the first row, read from the live database. */
export async function scalar<T = number>(sql: string, params: unknown[] = []): Promise<T> {
  return first<T>(testPool(), sql, params);
}

/** The first column of the first row, read from the capacity database. */
export async function capacityScalar<T = number>(sql: string, params: unknown[] = []): Promise<T> {
  return first<T>(capacityTestPool(), sql, params);
}

export async function waitFor(predicate: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
