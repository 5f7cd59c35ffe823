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
import { copyHeader, copyTrailer, encodeRow } from './copy-binary.js';
import { generateBatch, type BatchSpec } from './generator.js';

export const CAPACITY_CONTRIBUTOR_EMAIL = 'capacity-test@commontrace.internal';

const COPY_SQL =
  'COPY traces (id, title, context_text, solution_text, embedding, embedding_model_id, status, trust_score, ' +
  'confirmation_count, is_seed, contributor_id) FROM STDIN (FORMAT binary)';

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

export function encodeBatch(rows: ReturnType<typeof generateBatch>, modelId: string, contributorId: string): Buffer {
  const parts: Buffer[] = [copyHeader()];
  for (const r of rows) {
    parts.push(
      encodeRow([
        { kind: 'uuid', value: r.id },
        { kind: 'text', value: r.title },
        { kind: 'text', value: r.context },
        { kind: 'text', value: r.solution },
        { kind: 'vector', value: r.embedding },
        { kind: 'text', value: modelId },
        { kind: 'text', value: 'validated' },
        { kind: 'float8', value: 1.0 },
        { kind: 'int4', value: 2 },
        { kind: 'bool', value: false },
        { kind: 'uuid', value: contributorId },
      ]),
    );
  }
  parts.push(copyTrailer());
  return Buffer.concat(parts);
}

export async function copyBinary(client: pg.PoolClient, sql: string, payload: Buffer): Promise<void> {
  await pipeline(Readable.from([payload]), client.query(copyFrom(sql)));
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

  onPhase('generating');
  const rows = generateBatch(spec, centres);
  const payload = encodeBatch(rows, target.modelId, target.contributorId);

  return withTransaction(pool, async (client) => {
    // Names the backend in pg_stat_activity, so an operator can see (or stop) one batch.
    await client.query(`SELECT set_config('application_name', $1, true)`, [`capacity:${spec.runKey}:${spec.batchIndex}`]);
    const claimed = await client.query(
      'INSERT INTO capacity_batches (run_key, batch_index, rows) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [spec.runKey, spec.batchIndex, rows.length],
    );
    if (claimed.rowCount === 0) {
      return { rows: (await ledgerRows(client, spec.runKey, spec.batchIndex)) ?? 0, alreadyDone: true, bytes: 0 };
    }
    onPhase('copying');
    await copyBinary(client, COPY_SQL, payload);
    return { rows: rows.length, alreadyDone: false, bytes: payload.length };
  });
}
