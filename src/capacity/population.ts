/**
 * Writes one capacity batch exactly once. The ledger row and the batch's rows commit in the same
 * transaction; a batch already in the ledger is a no-op that returns its recorded count, and a
 * concurrent duplicate blocks on the ledger's primary key until the first attempt commits or aborts.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { withTransaction } from '../db/client.js';
import { copyHeader, copyTrailer, encodeRow, type CopyValue } from './copy-binary.js';
import { batchRange, generateRows, type BatchSpec, type SyntheticTrace } from './generator.js';

export const CAPACITY_CONTRIBUTOR_EMAIL = 'capacity-test@commontrace.internal';

export const COPY_COLUMNS =
  'traces (id, title, context_text, solution_text, embedding, embedding_model_id, status, trust_score, confirmation_count, is_seed, contributor_id)';
export const COPY_SQL = `COPY ${COPY_COLUMNS} FROM STDIN (FORMAT binary)`;

export interface BatchWrite {
  rows: number;
  alreadyDone: boolean;
  bytes: number;
}

export async function ensureCapacityContributor(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO users (email, display_name, is_seed) VALUES ($1, 'Capacity test data', false)
     ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
     RETURNING id`,
    [CAPACITY_CONTRIBUTOR_EMAIL],
  );
  return rows[0]!.id;
}

export async function ledgerRows(pool: pg.Pool | pg.PoolClient, runKey: string, batchIndex: number): Promise<number | null> {
  const { rows } = await pool.query<{ rows: number }>('SELECT rows FROM capacity_batches WHERE run_key = $1 AND batch_index = $2', [runKey, batchIndex]);
  return rows[0]?.rows ?? null;
}

/** One trace as the COPY_COLUMNS values: validated, its synthetic trust, the active model, the capacity contributor. */
export function rowValues(r: SyntheticTrace, modelId: string, contributorId: string): CopyValue[] {
  return [
    { kind: 'uuid', value: r.id },
    { kind: 'text', value: r.title },
    { kind: 'text', value: r.context },
    { kind: 'text', value: r.solution },
    { kind: 'vector', value: r.embedding },
    { kind: 'text', value: modelId },
    { kind: 'text', value: 'validated' },
    { kind: 'float8', value: r.trustScore },
    { kind: 'int4', value: 2 },
    { kind: 'bool', value: false },
    { kind: 'uuid', value: contributorId },
  ];
}

export function encodeBatch(rows: readonly SyntheticTrace[], modelId: string, contributorId: string): Buffer {
  return Buffer.concat([copyHeader(), ...rows.map((r) => encodeRow(rowValues(r, modelId, contributorId))), copyTrailer()]);
}

export async function copyBinary(client: pg.ClientBase, sql: string, payload: Buffer): Promise<void> {
  await pipeline(Readable.from([payload]), client.query(copyFrom(sql)));
}

/** Rows per COPY chunk: ~0.7 MB, a few milliseconds of generation between event-loop turns. */
const CHUNK_ROWS = 100;

/** The binary COPY stream of `rows` in chunks, counting the bytes it produces. */
function* copyChunks(rows: Iterable<SyntheticTrace>, target: { modelId: string; contributorId: string }, counted: { bytes: number }): Generator<Buffer> {
  let chunk: Buffer[] = [copyHeader()];
  const flush = () => {
    const buf = Buffer.concat(chunk);
    counted.bytes += buf.length;
    chunk = [];
    return buf;
  };
  for (const r of rows) {
    chunk.push(encodeRow(rowValues(r, target.modelId, target.contributorId)));
    if (chunk.length >= CHUNK_ROWS) yield flush();
  }
  chunk.push(copyTrailer());
  yield flush();
}

export async function writeCapacityBatch(
  pool: pg.Pool,
  spec: BatchSpec,
  centres: readonly Float32Array[],
  target: { modelId: string; contributorId: string },
  onPhase: (phase: string) => void = () => undefined,
): Promise<BatchWrite> {
  const recorded = await ledgerRows(pool, spec.runKey, spec.batchIndex);
  if (recorded !== null) return { rows: recorded, alreadyDone: true, bytes: 0 };
  const { start, end } = batchRange(spec);

  return withTransaction(pool, async (client) => {
    // Names the backend in pg_stat_activity, so an operator can see (or stop) one batch.
    await client.query(`SELECT set_config('application_name', $1, true)`, [`capacity:${spec.runKey}:${spec.batchIndex}`]);
    const claimed = await client.query(
      'INSERT INTO capacity_batches (run_key, batch_index, rows) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [spec.runKey, spec.batchIndex, end - start],
    );
    if (claimed.rowCount === 0) {
      return { rows: (await ledgerRows(client, spec.runKey, spec.batchIndex)) ?? 0, alreadyDone: true, bytes: 0 };
    }
    onPhase('generating and copying');
    // Rows are generated as COPY consumes them, chunk by chunk: PostgreSQL stores one chunk while
    // the next is generated, and concurrent batches interleave instead of generating in lockstep
    // (a whole batch up front blocked the event loop, so two lanes were no faster than one).
    const counted = { bytes: 0 };
    await pipeline(
      Readable.from(copyChunks(generateRows(spec, centres), target, counted), { highWaterMark: 1 }),
      client.query(copyFrom(COPY_SQL)),
    );
    return { rows: end - start, alreadyDone: false, bytes: counted.bytes };
  });
}
