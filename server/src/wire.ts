/**
 * Protobuf wire helpers for the few messages pyfleet writes by hand (the
 * link's hot frames, ExecuteMany's answers): unsigned varints under 2^32 and
 * length-delimited fields with one-byte tags.
 */

export function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** Writes `n` at `offset`; returns the offset after it. */
export function writeVarint(buf: Buffer, offset: number, n: number): number {
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[offset++] = n;
  return offset;
}

/** Size of a length-delimited field (tag, length, bytes) holding `len` bytes. */
export function fieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/** Size of a varint field (one-byte tag, value). */
export function varintFieldSize(n: number): number {
  return 1 + varintSize(n);
}

/** Writes a one-byte tag and a varint; returns the offset after them. */
export function writeVarintField(buf: Buffer, offset: number, tag: number, n: number): number {
  buf[offset++] = tag;
  return writeVarint(buf, offset, n);
}

/** Writes a tag and a length (the field's bytes follow); returns the offset after them. */
export const writeLengthPrefix = writeVarintField;

/** Writes a length-delimited field holding `text` as UTF-8 (`len` its byte length). */
export function writeStringField(buf: Buffer, offset: number, tag: number, text: string, len: number): number {
  offset = writeVarintField(buf, offset, tag, len);
  return offset + buf.write(text, offset);
}

/** Writes a length-delimited field holding `bytes`. */
export function writeBytesField(buf: Buffer, offset: number, tag: number, bytes: Uint8Array): number {
  offset = writeVarintField(buf, offset, tag, bytes.length);
  buf.set(bytes, offset);
  return offset + bytes.length;
}
