/**
 * The data of one exact search, laid out in a single shared WebAssembly memory so that worker
 * threads read the rows in place (no copies) and the SIMD kernel addresses them directly:
 *
 *   [ rows: rowSlots × stride float32 ][ queries: querySlots × stride float32 ][ per-lane output ]
 *
 * `stride` is the dimension rounded up to 4 and the slot counts are rounded up to the kernel's
 * blocking (2 rows, 4 queries); the padding stays zero, so it never changes a dot product. Trust
 * scores (for the re-ranked order) sit in a separate shared Float64Array.
 */
import { createSharedMemory, QUERY_QUAD, ROW_PAIR, type WasmMemory } from './simd-dot.js';

/** Rows per kernel call: 256 × 4 bytes of output per query, and a progress point every few ms. */
export const ROW_BLOCK = 256;
/** Queries served by one pass over the rows: 32 × 6 KB of 1,536-dimension queries stay in L2. */
export const MAX_QUERY_BLOCK = 32;

export interface ExactLayout {
  dimensions: number;
  stride: number;
  rows: number;
  queries: number;
  rowsOffset: number;
  queriesOffset: number;
  /** Output area of lane i: outputOffset + i · outputBytes. */
  outputOffset: number;
  outputBytes: number;
  lanes: number;
}

/** What a worker thread receives: everything is shared, nothing is copied. */
export interface ExactShared {
  layout: ExactLayout;
  memory: WasmMemory;
  trust: SharedArrayBuffer;
}

export interface ExactData extends ExactShared {
  /** rowSlots × stride floats: row i is vectors[i·stride, i·stride + dimensions). */
  vectors: Float32Array;
  trustScores: Float64Array;
}

const roundUp = (n: number, multiple: number) => Math.ceil(n / multiple) * multiple;

export function planLayout(dimensions: number, rows: number, queries: number, lanes: number): ExactLayout {
  if (!(dimensions > 0) || rows < 0 || queries < 0 || !(lanes > 0)) throw new RangeError('dimensions and lanes must be positive, rows and queries non-negative');
  const stride = roundUp(dimensions, 4);
  const vectorBytes = stride * 4;
  const rowsOffset = 0;
  const queriesOffset = rowsOffset + roundUp(rows, ROW_PAIR) * vectorBytes;
  const outputOffset = queriesOffset + roundUp(queries, QUERY_QUAD) * vectorBytes;
  const outputBytes = MAX_QUERY_BLOCK * ROW_BLOCK * 4;
  return { dimensions, stride, rows, queries, rowsOffset, queriesOffset, outputOffset, outputBytes, lanes };
}

export function allocateExactData(layout: ExactLayout): ExactData {
  const memory = createSharedMemory(layout.outputOffset + layout.lanes * layout.outputBytes);
  const trust = new SharedArrayBuffer(8 * Math.max(1, layout.rows));
  return viewExactData({ layout, memory, trust });
}

/** The typed views over shared data (in the thread that allocated it, or in a worker). */
export function viewExactData(shared: ExactShared): ExactData {
  const { layout } = shared;
  const vectors = new Float32Array(shared.memory.buffer, layout.rowsOffset, (layout.queriesOffset - layout.rowsOffset) / 4);
  return { ...shared, vectors, trustScores: new Float64Array(shared.trust, 0, layout.rows) };
}

/** Row i's values (a view, `dimensions` long). */
export function rowVector(data: ExactData, i: number): Float32Array {
  const start = i * data.layout.stride;
  return data.vectors.subarray(start, start + data.layout.dimensions);
}

/** Copies the queries into the shared memory, normalised (cosine similarity is then a dot product). */
export function writeQueries(data: ExactData, queries: readonly Float32Array[]): void {
  const { layout } = data;
  if (queries.length !== layout.queries) throw new RangeError(`layout has room for ${layout.queries} queries, got ${queries.length}`);
  const area = new Float32Array(data.memory.buffer, layout.queriesOffset, queries.length * layout.stride);
  queries.forEach((q, i) => {
    if (q.length !== layout.dimensions) throw new RangeError(`query ${i} has ${q.length} dimensions, expected ${layout.dimensions}`);
    const target = area.subarray(i * layout.stride, i * layout.stride + layout.dimensions);
    target.set(q);
    normalise(target);
  });
}

/**
 * Scales every row to unit length: pgvector's cosine distance divides by both norms, so this keeps
 * the in-process similarity equal to PostgreSQL's even for a row that is not quite unit length.
 * A zero row stays zero (similarity 0 here; PostgreSQL's cosine distance to it is NaN).
 * Returns the largest deviation |‖v‖ − 1| seen, for the caller to report or check.
 */
export function normaliseRows(data: ExactData): number {
  let worst = 0;
  for (let i = 0; i < data.layout.rows; i++) worst = Math.max(worst, Math.abs(normalise(rowVector(data, i)) - 1));
  return worst;
}

function normalise(v: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  if (norm > 0 && norm !== 1) for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return norm;
}
