import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { fieldSize, writeLengthPrefix } from "../wire.js";

/*
 * google.protobuf.Struct and Value in protobuf binary, read into and written
 * from plain JSON values by hand. protobuf-es builds a message per Value
 * (through its reflection layer) and converts it to JSON again: for a small
 * Execute that was the largest cost of a binary call on the server. These
 * read and write exactly what protobuf-es does (tests compare them over a
 * corpus); any input of another shape throws DECLINED, and the caller takes
 * protobuf-es's way, which also words the errors.
 */

/** Thrown for input these codecs leave to protobuf-es. */
export const DECLINED: unique symbol = Symbol("declined");

// Tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited).
const ENTRY = 0x0a; // Struct.fields = 1 (map entries); ListValue.values = 1
const ENTRY_KEY = 0x0a;
const ENTRY_VALUE = 0x12;
const NULL_VALUE = 0x08;
const NUMBER_VALUE = 0x11;
const STRING_VALUE = 0x1a;
const BOOL_VALUE = 0x20;
const STRUCT_VALUE = 0x2a;
const LIST_VALUE = 0x32;

/**
 * How deep a value may nest here. protobuf-es refuses messages nested over
 * 100 deep, and each JSON level is two messages (a Value and its Struct or
 * ListValue): deeper values are protobuf-es's to refuse or write.
 */
const MAX_DEPTH = 32;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A cursor over protobuf binary, for the readers here. */
export class WireReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    pos = 0,
    readonly end = buf.length,
  ) {
    this.pos = pos;
  }

  /** A varint under 2^32 (tags, lengths, booleans); longer ones are declined. */
  varint(): number {
    let n = 0;
    for (let shift = 0; shift < 32; shift += 7) {
      if (this.pos >= this.end) throw DECLINED;
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
    }
    throw DECLINED;
  }

  /** The end of a length-delimited field's bytes, the cursor at their start. */
  delimited(): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.end) throw DECLINED;
    return end;
  }

  /** A string field's text, strictly UTF-8 (protobuf-es's non-strict reading of bad UTF-8 is its own). */
  string(): string {
    const end = this.delimited();
    const { buf, pos } = this;
    this.pos = end;
    for (let i = pos; i < end; i++) if (buf[i]! >= 0x80) return decodeUtf8(buf.subarray(pos, end));
    return buf.toString("latin1", pos, end);
  }

  /** A boolean written as one byte (0 or 1), as every encoder writes it. */
  bool(): boolean {
    if (this.pos >= this.end) throw DECLINED;
    const b = this.buf[this.pos++]!;
    if (b > 1) throw DECLINED;
    return b === 1;
  }
}

function decodeUtf8(bytes: Buffer): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw DECLINED;
  }
}

/** A Struct's body (the bytes up to `end`) as the JSON object protobuf-es gives for it. */
export function readStruct(r: WireReader, end: number, depth = 0): JsonObject {
  if (depth >= MAX_DEPTH) throw DECLINED;
  const out: JsonObject = {};
  while (r.pos < end) {
    if (r.buf[r.pos++] !== ENTRY) throw DECLINED;
    const entryEnd = r.delimited();
    if (r.buf[r.pos++] !== ENTRY_KEY) throw DECLINED;
    const key = r.string();
    // A repeated key (protobuf keeps the last) or one a plain object cannot hold as data.
    if (key === "__proto__" || Object.hasOwn(out, key)) throw DECLINED;
    if (r.buf[r.pos++] !== ENTRY_VALUE) throw DECLINED;
    const valueEnd = r.delimited();
    out[key] = readValue(r, valueEnd, depth);
    if (r.pos !== entryEnd) throw DECLINED;
  }
  if (r.pos !== end) throw DECLINED;
  return out;
}

/** A Value's body: exactly one of its fields. */
function readValue(r: WireReader, end: number, depth: number): JsonValue {
  if (r.pos >= end) throw DECLINED;
  const tag = r.buf[r.pos++];
  let value: JsonValue;
  switch (tag) {
    case NULL_VALUE:
      if (r.varint() !== 0) throw DECLINED;
      value = null;
      break;
    case NUMBER_VALUE: {
      if (r.pos + 8 > end) throw DECLINED;
      const n = r.buf.readDoubleLE(r.pos);
      r.pos += 8;
      if (!Number.isFinite(n)) throw DECLINED;
      value = n;
      break;
    }
    case STRING_VALUE:
      value = r.string();
      break;
    case BOOL_VALUE:
      value = r.bool();
      break;
    case STRUCT_VALUE:
      value = readStruct(r, r.delimited(), depth + 1);
      break;
    case LIST_VALUE:
      value = readList(r, r.delimited(), depth + 1);
      break;
    default:
      throw DECLINED;
  }
  if (r.pos !== end) throw DECLINED;
  return value;
}

function readList(r: WireReader, end: number, depth: number): JsonValue[] {
  if (depth >= MAX_DEPTH) throw DECLINED;
  const out: JsonValue[] = [];
  while (r.pos < end) {
    if (r.buf[r.pos++] !== ENTRY) throw DECLINED;
    out.push(readValue(r, r.delimited(), depth));
  }
  if (r.pos !== end) throw DECLINED;
  return out;
}

/**
 * The sizes a Value needs written, in the order writeValue uses them: each
 * container's and string's byte length, before what it holds. Returns the
 * Value's body size.
 */
export function valueSize(value: JsonValue, sizes: number[], depth = 0): number {
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) throw DECLINED;
      return 9;
    case "boolean":
      return 2;
    case "string": {
      const len = Buffer.byteLength(value);
      sizes.push(len);
      return fieldSize(len);
    }
    case "object": {
      if (value === null) return 2;
      if (depth >= MAX_DEPTH) throw DECLINED;
      const at = sizes.length;
      sizes.push(0);
      let size = 0;
      if (Array.isArray(value)) {
        for (const item of value) size += fieldSize(valueSize(item, sizes, depth + 1));
      } else {
        for (const key in value) {
          const entryAt = sizes.length;
          sizes.push(0);
          const keyLen = Buffer.byteLength(key);
          sizes.push(keyLen);
          const entry = fieldSize(keyLen) + fieldSize(valueSize(value[key]!, sizes, depth + 1));
          sizes[entryAt] = entry;
          size += fieldSize(entry);
        }
      }
      sizes[at] = size;
      return fieldSize(size);
    }
    default:
      throw DECLINED;
  }
}

/** Writes a Value's body at `o` with the sizes valueSize gave (from `sizes[cursor.i]` on); returns the end. */
export function writeValue(buf: Buffer, o: number, value: JsonValue, sizes: number[], cursor: { i: number }): number {
  switch (typeof value) {
    case "number":
      buf[o] = NUMBER_VALUE;
      buf.writeDoubleLE(value, o + 1);
      return o + 9;
    case "boolean":
      buf[o] = BOOL_VALUE;
      buf[o + 1] = value ? 1 : 0;
      return o + 2;
    case "string":
      o = writeLengthPrefix(buf, o, STRING_VALUE, sizes[cursor.i++]!);
      return o + buf.write(value, o);
    default: {
      if (value === null) {
        buf[o] = NULL_VALUE;
        buf[o + 1] = 0;
        return o + 2;
      }
      const size = sizes[cursor.i++]!;
      if (Array.isArray(value)) {
        o = writeLengthPrefix(buf, o, LIST_VALUE, size);
        for (const item of value) o = writeValueField(buf, o, ENTRY, item, sizes, cursor);
        return o;
      }
      o = writeLengthPrefix(buf, o, STRUCT_VALUE, size);
      for (const key in value) {
        o = writeLengthPrefix(buf, o, ENTRY, sizes[cursor.i++]!);
        o = writeLengthPrefix(buf, o, ENTRY_KEY, sizes[cursor.i++]!);
        o += buf.write(key, o);
        o = writeValueField(buf, o, ENTRY_VALUE, value[key]!, sizes, cursor);
      }
      return o;
    }
  }
}

/** A Value as a length-delimited field with `tag`. */
function writeValueField(buf: Buffer, o: number, tag: number, value: JsonValue, sizes: number[], cursor: { i: number }): number {
  // The Value's own size is not in `sizes`: it is that of its one field.
  return writeValue(buf, writeLengthPrefix(buf, o, tag, bodySize(value, sizes, cursor.i)), value, sizes, cursor);
}

/** A Value's body size from its entry in `sizes` (containers and strings) or its kind. */
function bodySize(value: JsonValue, sizes: number[], i: number): number {
  switch (typeof value) {
    case "number":
      return 9;
    case "boolean":
      return 2;
    case "string":
      return fieldSize(sizes[i]!);
    default:
      return value === null ? 2 : fieldSize(sizes[i]!);
  }
}
