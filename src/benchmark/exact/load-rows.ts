/**
 * Loads the searchable rows (all, or those with one tag) (id, trust_score, embedding) once, in binary: `COPY (SELECT …) TO STDOUT
 * (FORMAT binary)` sends each vector as its 4 + 4·d bytes of float4s, decoded straight into the
 * shared memory the exact scan reads, never through decimal text. Count and COPY run in one
 * REPEATABLE READ transaction, so they see the same snapshot and the memory is sized exactly.
 */
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { readFloat4sBE } from '../../db/vector-binary.js';
import { readBinaryCopy } from './copy-reader.js';
import { allocateExactData, planLayout, rowVector, type ExactData } from './exact-data.js';

/** The rows the search statement can return for a model (`modelId` is SQL: a parameter or a literal). */
export const searchablePredicate = (modelId: string): string =>
  `embedding IS NOT NULL AND embedding_model_id = ${modelId} AND NOT is_flagged AND status <> 'rejected'`;

/**
 * The row (its id column `id`) carries tag `tag` (SQL: a parameter or a literal): the search
 * statement's tag filter for one tag.
 */
export const hasTagPredicate = (id: string, tag: string): string =>
  `EXISTS (SELECT 1 FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id WHERE tt.trace_id = ${id} AND tg.name = ${tag})`;

/** The searchable rows, and of them only those with `tag` when one is given (parameters: $1 model, $2 tag). */
export const loadPredicate = (modelId: string, tag: string | null): string =>
  tag === null ? searchablePredicate(modelId) : `${searchablePredicate(modelId)} AND ${hasTagPredicate('traces.id', tag)}`;

export interface LoadedRows {
  data: ExactData;
  /** Row i's uuid is bytes [16·i, 16·i + 16). */
  ids: Buffer;
}

export interface LoadPlan {
  modelId: string;
  dimensions: number;
  /** How many queries and worker lanes the shared memory must make room for. */
  queries: number;
  lanes: number;
  /** Only the searchable rows carrying this tag (a filtered ground truth). */
  tag?: string;
}

export async function loadSearchableRows(client: pg.ClientBase, plan: LoadPlan): Promise<LoadedRows> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const tag = plan.tag ?? null;
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM traces WHERE ${loadPredicate('$1', tag === null ? null : '$2')}`, tag === null ? [plan.modelId] : [plan.modelId, tag],
    );
    const count = rows[0]!.n;
    const data = allocateExactData(planLayout(plan.dimensions, count, plan.queries, plan.lanes));
    const ids = Buffer.alloc(16 * count);
    let row = 0;
    const sql = `COPY (SELECT id, trust_score, embedding FROM traces WHERE ${loadPredicate(client.escapeLiteral(plan.modelId), tag === null ? null : client.escapeLiteral(tag))}) TO STDOUT (FORMAT binary)`;
    await readBinaryCopy(client.query(copyTo(sql)), (buf, fields) => {
      if (row >= count) throw new Error(`COPY returned more than the ${count} rows counted in the same snapshot`);
      const [idAt, idLength, trustAt, trustLength, vectorAt, vectorLength] = fields;
      if (idLength !== 16 || trustLength !== 8 || vectorLength !== 4 + 4 * plan.dimensions) {
        throw new Error(`unexpected row shape from COPY (field lengths ${idLength}, ${trustLength}, ${vectorLength}); expected uuid, float8 and a ${plan.dimensions}-dimension vector`);
      }
      buf.copy(ids, 16 * row, idAt!, idAt! + 16);
      data.trustScores[row] = buf.readDoubleBE(trustAt!);
      if (buf.readInt16BE(vectorAt!) !== plan.dimensions) throw new Error(`row ${row} has ${buf.readInt16BE(vectorAt!)} dimensions, expected ${plan.dimensions}`);
      readFloat4sBE(buf, vectorAt! + 4, rowVector(data, row));
      row++;
    });
    if (row !== count) throw new Error(`COPY returned ${row} rows, ${count} were counted in the same snapshot`);
    await client.query('COMMIT');
    return { data, ids };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Row i's id in the usual 8-4-4-4-12 form. */
export function rowId(ids: Buffer, row: number): string {
  const hex = ids.toString('hex', 16 * row, 16 * row + 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
