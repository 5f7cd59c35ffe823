/**
 * Writes one capacity batch exactly once. The ledger row, the batch's rows and their tags
 * (capacity/tags) commit in the same transaction. The rows are the truth, the ledger only a claim: a batch already in the ledger is a
 * no-op only when all its rows (deterministic ids, generator.capacityRowId) are in `traces`;
 * otherwise it is written again, its partial rows and stale ledger row replaced in one transaction.
 * A concurrent duplicate blocks on the ledger row (its primary key, or FOR UPDATE) until the first
 * attempt commits or aborts, then finds the batch complete.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { withTransaction } from '../db/client.js';
import { ensureSystemUser } from '../db/system-users.js';
import { copyHeader, copyTrailer, encodeRow, type CopyValue } from './copy-binary.js';
import { batchRange, batchTagAssignments, capacityRowId, generateRows, type BatchSpec, type SyntheticTrace } from './generator.js';
import { ensureCapacityTagIds, insertTagAssignments } from './tags.js';

export const CAPACITY_CONTRIBUTOR_EMAIL = 'capacity-test@commontrace.internal';

export const COPY_COLUMNS =
  'traces (id, title, context_text, solution_text, embedding, embedding_model_id, status, trust_score, confirmation_count, is_seed, contributor_id)';
export const COPY_SQL = `COPY ${COPY_COLUMNS} FROM STDIN (FORMAT binary)`;

export interface BatchWrite {
  rows: number;
  alreadyDone: boolean;
  /** The ledger had the batch but not all its rows (deleted behind its back): it was written again. */
  repaired: boolean;
  bytes: number;
}

type Queryable = pg.Pool | pg.PoolClient;

/** The batch's row ids, in order: capacityRowId(runKey, g) over its global range. */
export function batchRowIds(spec: Pick<BatchSpec, 'runKey' | 'batchIndex' | 'batchSize' | 'total'>): string[] {
  const { start, end } = batchRange(spec);
  return Array.from({ length: end - start }, (_, i) => capacityRowId(spec.runKey, start + i));
}

/** How many of `ids` are rows of `traces`. */
export async function countPresent(db: Queryable, ids: readonly string[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM traces WHERE id = ANY($1::uuid[])', [ids]);
  return rows[0]!.n;
}

/** Ids per counting query: a 370 kB parameter, so a 10M-row run is counted in bounded statements. */
const COUNT_CHUNK = 10_000;

/** The rows of the run actually in `traces`: its ids over [0, total), counted, never taken from the ledger. */
export async function countRunRows(db: Queryable, runKey: string, total: number): Promise<number> {
  let present = 0;
  for (let start = 0; start < total; start += COUNT_CHUNK) {
    const ids = Array.from({ length: Math.min(COUNT_CHUNK, total - start) }, (_, i) => capacityRowId(runKey, start + i));
    present += await countPresent(db, ids);
  }
  return present;
}

/**
 * The contributor of all capacity rows: a system user (users.is_system), created on first use. A
 * non-system row holding its e-mail is never reused: population fails with a non-retryable
 * SystemUserConflict, so cleanup (which deletes by this contributor) can never reach that row's traces.
 */
export async function ensureCapacityContributor(pool: pg.Pool): Promise<string> {
  return ensureSystemUser(pool, { email: CAPACITY_CONTRIBUTOR_EMAIL, displayName: 'Capacity test data', isSeed: false });
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
  const { start, end } = batchRange(spec);
  const expected = end - start;
  const ids = batchRowIds(spec);
  const done: BatchWrite = { rows: expected, alreadyDone: true, repaired: false, bytes: 0 };
  // A resumed run: the ledger has the batch and every one of its rows is there.
  if ((await ledgerRows(pool, spec.runKey, spec.batchIndex)) === expected && (await countPresent(pool, ids)) === expected) return done;
  const tagIds = await ensureCapacityTagIds(pool);

  return withTransaction(pool, async (client) => {
    // Names the backend in pg_stat_activity, so an operator can see (or stop) one batch.
    await client.query(`SELECT set_config('application_name', $1, true)`, [`capacity:${spec.runKey}:${spec.batchIndex}`]);
    const claim = () => client.query(
      'INSERT INTO capacity_batches (run_key, batch_index, rows) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [spec.runKey, spec.batchIndex, expected],
    );
    let repaired = false;
    if ((await claim()).rowCount === 0) {
      // Recorded already: lock the ledger row (a concurrent attempt waits here) and check its rows.
      const { rows: locked } = await client.query<{ rows: number }>(
        'SELECT rows FROM capacity_batches WHERE run_key = $1 AND batch_index = $2 FOR UPDATE', [spec.runKey, spec.batchIndex],
      );
      if (locked[0]?.rows === expected && (await countPresent(client, ids)) === expected) return done;
      // The ledger vouches for rows that are not all there (or for another batch size under this
      // key): replace its ledger row and write the batch again, in this transaction.
      if (locked[0]) await client.query('DELETE FROM capacity_batches WHERE run_key = $1 AND batch_index = $2', [spec.runKey, spec.batchIndex]);
      if ((await claim()).rowCount === 0) {
        // Another attempt claimed it between our statements; this attempt fails and Temporal retries it.
        throw new Error(`batch ${spec.batchIndex} of ${spec.runKey} was claimed concurrently; the retry will find it done`);
      }
      // (No row left to lock means a cleanup deleted it meanwhile: then this is a plain first write.)
      repaired = locked.length > 0;
    }
    // The batch's rows that are there without a complete ledger entry (partial, or orphaned) go
    // first, so the COPY below never hits a duplicate key and the batch ends exactly complete.
    await client.query('DELETE FROM traces WHERE id = ANY($1::uuid[])', [ids]);
    onPhase(repaired ? 'rewriting a batch whose rows were missing' : 'generating and copying');
    // Rows are generated as COPY consumes them, chunk by chunk: PostgreSQL stores one chunk while
    // the next is generated, and concurrent batches interleave instead of generating in lockstep
    // (a whole batch up front blocked the event loop, so two lanes were no faster than one).
    const counted = { bytes: 0 };
    await pipeline(
      Readable.from(copyChunks(generateRows(spec, centres), target, counted), { highWaterMark: 1 }),
      client.query(copyFrom(COPY_SQL)),
    );
    // The DELETE above took any earlier tags of these rows with them (ON DELETE CASCADE).
    await insertTagAssignments(client, tagIds, batchTagAssignments({ ...spec, start, end }));
    return { rows: expected, alreadyDone: false, repaired, bytes: counted.bytes };
  });
}
