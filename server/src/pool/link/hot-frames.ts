import type { Call, WorkerFrame } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import { fieldSize, varintFieldSize, writeBytesField, writeLengthPrefix, writeStringField, writeVarintField } from "../../wire.js";

/**
 * Hand-written wire code for the frames every call makes: the Call out and
 * its Result back (and a stream's Chunk frames). The reflective protobuf codec costs more per call
 * than the link itself; these write and read the same bytes (a test checks
 * both against toBinary/fromBinary). Anything else takes the general codec.
 */

// Tags: (field number << 3) | wire type (0 varint, 2 length-delimited).
const SERVER_FRAME_CALL = 0x0a; // ServerFrame.call = 1
const CALL_ID = 0x08;
const CALL_TOOL = 0x12;
const CALL_ARGS = 0x1a;
const CALL_BINARY_ARGS = 0x22;
const CALL_SESSION_ID = 0x2a;
const CALL_TIMEOUT_MS = 0x30;
const CALL_STREAM = 0x38;
const CALL_CHUNK_WINDOW = 0x40;
const CALL_REQUEST_ID = 0x4a;
const CALL_TRACEPARENT = 0x52;
const CALL_TRACESTATE = 0x5a;
const MAP_KEY = 0x0a;
const MAP_VALUE = 0x12;
const WORKER_FRAME_RESULT = 0x1a; // WorkerFrame.result = 3
const ID = 0x08; // Result.id and Chunk.id = 1, varint
const WORKER_FRAME_CHUNK = 0x22; // WorkerFrame.chunk = 4
const CHUNK_ITEM = 0x12;
const RESULT_VALUE = 0x12;
const PAYLOAD_JSON = 0x0a;
const PAYLOAD_RAW = 0x12;

/** The fields of a Call, as plain data. */
export type CallFields = Pick<Call, "id" | "tool" | "args" | "binaryArgs" | "sessionId" | "timeoutMs" | "stream" | "chunkWindow" | "requestId" | "traceparent" | "tracestate">;

/** A length-prefixed ServerFrame carrying a Call, as toBinary would write it (fields in number order, defaults omitted). */
export function encodeCallFrame(call: CallFields): Buffer {
  const toolLen = Buffer.byteLength(call.tool);
  const sessionLen = call.sessionId === "" ? 0 : Buffer.byteLength(call.sessionId);
  const requestLen = call.requestId === "" ? 0 : Buffer.byteLength(call.requestId);
  // Empty unless tracing is on.
  const parentLen = call.traceparent === "" ? 0 : Buffer.byteLength(call.traceparent);
  const stateLen = call.tracestate === "" ? 0 : Buffer.byteLength(call.tracestate);
  const entries = Object.entries(call.binaryArgs);
  let size = call.id === 0 ? 0 : varintFieldSize(call.id);
  if (toolLen > 0) size += fieldSize(toolLen);
  if (call.args.length > 0) size += fieldSize(call.args.length);
  const entrySizes: number[] = [];
  for (const [key, value] of entries) {
    const keyLen = Buffer.byteLength(key);
    // Map entries carry key and value even when empty, as protobuf-es writes them.
    const entry = fieldSize(keyLen) + fieldSize(value.length);
    entrySizes.push(entry);
    size += fieldSize(entry);
  }
  if (sessionLen > 0) size += fieldSize(sessionLen);
  if (call.timeoutMs !== 0) size += varintFieldSize(call.timeoutMs);
  if (call.stream) size += varintFieldSize(1);
  if (call.chunkWindow !== 0) size += varintFieldSize(call.chunkWindow);
  if (requestLen > 0) size += fieldSize(requestLen);
  if (parentLen > 0) size += fieldSize(parentLen);
  if (stateLen > 0) size += fieldSize(stateLen);

  const frameLen = fieldSize(size);
  const buf = Buffer.allocUnsafe(4 + frameLen);
  buf.writeUInt32BE(frameLen, 0);
  let o = writeLengthPrefix(buf, 4, SERVER_FRAME_CALL, size);
  if (call.id !== 0) o = writeVarintField(buf, o, CALL_ID, call.id);
  if (toolLen > 0) o = writeStringField(buf, o, CALL_TOOL, call.tool, toolLen);
  if (call.args.length > 0) o = writeBytesField(buf, o, CALL_ARGS, call.args);
  for (let i = 0; i < entries.length; i++) {
    const [key, value] = entries[i]!;
    o = writeLengthPrefix(buf, o, CALL_BINARY_ARGS, entrySizes[i]!);
    o = writeStringField(buf, o, MAP_KEY, key, Buffer.byteLength(key));
    o = writeBytesField(buf, o, MAP_VALUE, value);
  }
  if (sessionLen > 0) o = writeStringField(buf, o, CALL_SESSION_ID, call.sessionId, sessionLen);
  if (call.timeoutMs !== 0) o = writeVarintField(buf, o, CALL_TIMEOUT_MS, call.timeoutMs);
  if (call.stream) o = writeVarintField(buf, o, CALL_STREAM, 1);
  if (call.chunkWindow !== 0) o = writeVarintField(buf, o, CALL_CHUNK_WINDOW, call.chunkWindow);
  if (requestLen > 0) o = writeStringField(buf, o, CALL_REQUEST_ID, call.requestId, requestLen);
  if (parentLen > 0) o = writeStringField(buf, o, CALL_TRACEPARENT, call.traceparent, parentLen);
  if (stateLen > 0) writeStringField(buf, o, CALL_TRACESTATE, call.tracestate, stateLen);
  return buf;
}

/** Reads a varint at `at`; returns [value, next offset], or undefined past `end` or beyond 32 bits. */
function readVarint(buf: Uint8Array, at: number, end: number): [number, number] | undefined {
  let value = 0;
  for (let shift = 0; shift < 35 && at < end; shift += 7) {
    const byte = buf[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return value <= 0xffffffff ? [value, at] : undefined;
  }
  return undefined;
}

/**
 * The start of a WorkerFrame holding just the message `tag` opens, whose
 * field 1 (optional) is its id: [id, offset of the next field], or undefined.
 */
function readFrameStart(body: Uint8Array, tag: number): [number, number] | undefined {
  const end = body.length;
  if (end < 2 || body[0] !== tag) return undefined;
  const outer = readVarint(body, 1, end);
  if (!outer || outer[1] + outer[0] !== end) return undefined;
  const o = outer[1];
  if (body[o] !== ID) return [0, o];
  return readVarint(body, o + 1, end);
}

/** A Payload filling body[at, end) exactly, as plain data; undefined for anything else. */
function readPayload(body: Uint8Array, at: number, end: number): { kind: { case: "json" | "raw"; value: Uint8Array } } | undefined {
  const kind = body[at];
  if (kind !== PAYLOAD_JSON && kind !== PAYLOAD_RAW) return undefined;
  const len = readVarint(body, at + 1, end);
  if (!len || len[1] + len[0] !== end) return undefined;
  return { kind: { case: kind === PAYLOAD_JSON ? "json" : "raw", value: body.subarray(len[1], end) } };
}

/**
 * A WorkerFrame that is exactly a Result as the Python runtime writes it
 * (id, then one json or raw payload), as plain data shaped like the
 * message; undefined for anything else, which the general codec reads.
 */
export function decodeResultFrame(body: Uint8Array): WorkerFrame | undefined {
  const start = readFrameStart(body, WORKER_FRAME_RESULT);
  if (!start) return undefined;
  const [id, o] = start;
  const end = body.length;
  // No payload: the general codec decides.
  if (o === end || body[o] !== RESULT_VALUE) return undefined;
  const payloadLen = readVarint(body, o + 1, end);
  if (!payloadLen || payloadLen[1] + payloadLen[0] !== end) return undefined;
  const value = readPayload(body, payloadLen[1], end);
  if (!value) return undefined;
  return { frame: { case: "result", value: { id, value } } } as WorkerFrame;
}

/**
 * A WorkerFrame that is exactly a Chunk as the Python runtime writes it (id,
 * then json or raw items), as plain data shaped like the message; undefined
 * for anything else, which the general codec reads.
 */
export function decodeChunkFrame(body: Uint8Array): WorkerFrame | undefined {
  const start = readFrameStart(body, WORKER_FRAME_CHUNK);
  if (!start) return undefined;
  const id = start[0];
  let o = start[1];
  const end = body.length;
  const items: { kind: { case: "json" | "raw"; value: Uint8Array } }[] = [];
  while (o < end) {
    if (body[o] !== CHUNK_ITEM) return undefined;
    const itemLen = readVarint(body, o + 1, end);
    if (!itemLen) return undefined;
    const itemEnd = itemLen[1] + itemLen[0];
    if (itemEnd > end) return undefined;
    const item = readPayload(body, itemLen[1], itemEnd);
    if (!item) return undefined;
    items.push(item);
    o = itemEnd;
  }
  return { frame: { case: "chunk", value: { id, items } } } as WorkerFrame;
}
