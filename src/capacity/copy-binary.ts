/**
 * PostgreSQL binary COPY encoding for the column types the capacity loader writes. Binary COPY
 * sends a 1536-dimension vector as 6 KB of float4s instead of ~20 KB of decimal text that the server
 * must parse, which is where text COPY loses most of its time.
 */
import { encodedVectorBytes, writeVector } from '../db/vector-binary.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

export type CopyValue =
  | { kind: 'uuid'; value: string }
  | { kind: 'text'; value: string }
  | { kind: 'vector'; value: Float32Array | readonly number[] }
  | { kind: 'float8'; value: number }
  | { kind: 'int4'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' };

export function copyHeader(): Buffer {
  const header = Buffer.alloc(SIGNATURE.length + 8);
  SIGNATURE.copy(header, 0);
  // flags (no OIDs) and header-extension length, both zero
  return header;
}

export function copyTrailer(): Buffer {
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1, 0);
  return trailer;
}

function fieldLength(v: CopyValue): number {
  switch (v.kind) {
    case 'uuid': return 16;
    case 'text': return Buffer.byteLength(v.value, 'utf8');
    case 'vector': return encodedVectorBytes(v.value.length);
    case 'float8': return 8;
    case 'int4': return 4;
    case 'bool': return 1;
    case 'null': return -1;
  }
}

/** Encodes one tuple: int16 field count, then per field int32 length (-1 = NULL) and the bytes. */
export function encodeRow(values: readonly CopyValue[]): Buffer {
  let size = 2;
  const lengths = values.map(fieldLength);
  for (const len of lengths) size += 4 + Math.max(0, len);
  const buf = Buffer.allocUnsafe(size);
  let o = buf.writeInt16BE(values.length, 0);
  values.forEach((v, i) => {
    const len = lengths[i]!;
    o = buf.writeInt32BE(len, o);
    switch (v.kind) {
      case 'uuid':
        o += Buffer.from(v.value.replace(/-/g, ''), 'hex').copy(buf, o);
        break;
      case 'text':
        o += buf.write(v.value, o, 'utf8');
        break;
      case 'vector':
        o = writeVector(buf, o, v.value);
        break;
      case 'float8':
        o = buf.writeDoubleBE(v.value, o);
        break;
      case 'int4':
        o = buf.writeInt32BE(v.value, o);
        break;
      case 'bool':
        o = buf.writeUInt8(v.value ? 1 : 0, o);
        break;
      case 'null':
        break;
    }
  });
  return buf;
}
