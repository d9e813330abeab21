import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lowercase

/** A random id with a type prefix, e.g. "ses_3k9…" (26 base32 characters, 128 random bits). */
export function newId(prefix: string): string {
  let out = `${prefix}_`;
  let value = 0;
  let bits = 0;
  for (const byte of randomBytes(16)) {
    value = ((value << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out + ALPHABET[(value << (5 - bits)) & 31];
}
