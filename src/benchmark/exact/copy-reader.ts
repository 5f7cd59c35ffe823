/**
 * Reads PostgreSQL's binary COPY format (the stream `COPY … TO STDOUT (FORMAT binary)` produces):
 * an 11-byte signature, flags and a header extension, then per tuple an int16 field count and per
 * field an int32 length (-1 = NULL) and its bytes, until a field count of -1. Chunks arrive at
 * arbitrary boundaries; a tuple split across two is reassembled before it is handed on.
 */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = SIGNATURE.length + 8;

export class CopyFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyFormatError';
  }
}

/**
 * Calls `onTuple(buf, fields)` for each tuple, where fields[i] is [offset, length] of field i in
 * `buf` (length -1 for NULL). `buf` is only valid during the call. Returns the number of tuples.
 */
export async function readBinaryCopy(
  chunks: AsyncIterable<Buffer>,
  onTuple: (buf: Buffer, fields: Int32Array) => void,
): Promise<number> {
  let pending: Buffer = Buffer.alloc(0);
  let headerRead = false;
  let ended = false;
  let tuples = 0;
  let fields = new Int32Array(0);

  for await (const chunk of chunks) {
    const buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    if (!headerRead) {
      if (buf.length < HEADER_BYTES) {
        pending = buf;
        continue;
      }
      if (!buf.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new CopyFormatError('not a binary COPY stream (bad signature)');
      at = HEADER_BYTES + buf.readInt32BE(SIGNATURE.length + 4);
      headerRead = true;
    }
    while (!ended && at + 2 <= buf.length) {
      const count = buf.readInt16BE(at);
      if (count === -1) {
        ended = true;
        at += 2;
        break;
      }
      if (fields.length !== 2 * count) fields = new Int32Array(2 * count);
      // Walk the field lengths; stop if the tuple is not complete in this buffer yet.
      let o = at + 2;
      let complete = true;
      for (let f = 0; f < count; f++) {
        if (o + 4 > buf.length) {
          complete = false;
          break;
        }
        const length = buf.readInt32BE(o);
        o += 4;
        fields[2 * f] = o;
        fields[2 * f + 1] = length;
        if (length > 0) o += length;
        if (o > buf.length) {
          complete = false;
          break;
        }
      }
      if (!complete) break;
      onTuple(buf, fields);
      tuples++;
      at = o;
    }
    // Copy the remainder: holding a subarray would pin the whole (possibly large) chunk.
    pending = Buffer.from(buf.subarray(at));
  }
  if (!ended) throw new CopyFormatError('binary COPY stream ended without its trailer');
  if (pending.length > 0) throw new CopyFormatError(`${pending.length} bytes after the binary COPY trailer`);
  return tuples;
}
