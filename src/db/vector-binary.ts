/**
 * pgvector's binary wire form (vector_send / vector_recv): int16 dimensions, int16 unused, then the
 * values as float4 in network byte order. A 1,536-dimension query travels as 6 KB that the server
 * copies, instead of ~20 KB of decimal text that it must parse; node-postgres sends a Buffer
 * parameter in binary format, so `$1::vector` with an encoded Buffer takes this path.
 */
import { endianness } from 'node:os';

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Float4s in network byte order at `offset`; returns the offset after them. Copying the
 * Float32Array's bytes and swapping them natively is ~10× faster than one writeFloatBE per value.
 */
export function writeFloat4sBE(buf: Buffer, offset: number, values: Float32Array | readonly number[]): number {
  const floats = values instanceof Float32Array ? values : Float32Array.from(values);
  const end = offset + 4 * floats.length;
  if (!LITTLE_ENDIAN) {
    let o = offset;
    for (const x of floats) o = buf.writeFloatBE(x, o);
    return o;
  }
  Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).copy(buf, offset);
  buf.subarray(offset, end).swap32();
  return end;
}

/** Bytes of one encoded vector of `dimensions` values. */
export const encodedVectorBytes = (dimensions: number): number => 4 + 4 * dimensions;

/** Writes one vector in vector_recv form at `offset`; returns the offset after it. */
export function writeVector(buf: Buffer, offset: number, values: Float32Array | readonly number[]): number {
  let o = buf.writeInt16BE(values.length, offset);
  o = buf.writeInt16BE(0, o);
  return writeFloat4sBE(buf, o, values);
}

/** A query parameter for `$n::vector` in pgvector's binary form. */
export function encodeVector(values: Float32Array | readonly number[]): Buffer {
  const buf = Buffer.alloc(encodedVectorBytes(values.length));
  writeVector(buf, 0, values);
  return buf;
}

/** The inverse of encodeVector (a vector column read in binary, e.g. from binary COPY). */
export function decodeVector(buf: Buffer, offset = 0, target?: Float32Array): Float32Array {
  const dimensions = buf.readInt16BE(offset);
  const out = target ?? new Float32Array(dimensions);
  if (out.length !== dimensions) throw new Error(`expected a ${out.length}-dimension vector, got ${dimensions}`);
  let o = offset + 4;
  for (let i = 0; i < dimensions; i++, o += 4) out[i] = buf.readFloatBE(o);
  return out;
}

/**
 * Reads `target.length` float4s in network byte order at `offset` into `target` (which may view a
 * SharedArrayBuffer); returns the offset after them. The bulk copy-and-swap counterpart of
 * writeFloat4sBE, for decoding many vectors (e.g. a binary COPY of a whole table) quickly.
 */
export function readFloat4sBE(buf: Buffer, offset: number, target: Float32Array): number {
  const end = offset + 4 * target.length;
  if (end > buf.length) throw new RangeError(`need ${end - offset} bytes at offset ${offset}, the buffer has ${buf.length - offset}`);
  if (!LITTLE_ENDIAN) {
    for (let i = 0, o = offset; i < target.length; i++, o += 4) target[i] = buf.readFloatBE(o);
    return end;
  }
  const bytes = Buffer.from(target.buffer, target.byteOffset, target.byteLength);
  buf.copy(bytes, 0, offset, end);
  bytes.swap32();
  return end;
}
