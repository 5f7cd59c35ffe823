/**
 * Which index type a database's search statement must be written for. The statement has to repeat
 * the index expression (embedding, or embedding::halfvec(1536)) or the planner scans the table, so
 * the live search path reads it from the valid HNSW indexes on traces (pg_index / pg_indexes) unless
 * SEARCH_INDEX_TYPE names it.
 */
import type pg from 'pg';
import { DEFAULT_INDEX_TYPE, indexTypeOfDefinition, type IndexType } from '../db/hnsw.js';

/** The types of the valid HNSW indexes on traces, from their definitions. */
export async function validIndexTypes(db: pg.Pool | pg.ClientBase): Promise<IndexType[]> {
  const { rows } = await db.query<{ indexdef: string }>(
    `SELECT pg_get_indexdef(i.indexrelid) AS indexdef
       FROM pg_index i
      WHERE i.indrelid = to_regclass('traces') AND i.indisvalid`,
  );
  const types = rows.map((r) => indexTypeOfDefinition(r.indexdef)).filter((t): t is IndexType => t !== null);
  return [...new Set(types)].sort();
}

/**
 * The type to search with, given the valid indexes: the only one there is; DEFAULT_INDEX_TYPE when
 * both exist (a comparison run builds both) or none does (the statement scans the table either way).
 */
export function chooseIndexType(valid: readonly IndexType[]): IndexType {
  return valid.length === 1 ? valid[0]! : DEFAULT_INDEX_TYPE;
}

const known = new WeakMap<object, Promise<IndexType>>();

/**
 * The index type of the database behind `db`, read once per pool or connection and then cached: a
 * rebuild as the other type takes effect when the process restarts (or set SEARCH_INDEX_TYPE).
 */
export function searchIndexType(db: pg.Pool | pg.ClientBase): Promise<IndexType> {
  let type = known.get(db);
  if (!type) {
    type = validIndexTypes(db).then(chooseIndexType);
    // A failed read is not remembered: the next search asks again.
    type.catch(() => known.delete(db));
    known.set(db, type);
  }
  return type;
}
