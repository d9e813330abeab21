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
