import { type BinaryReadOptions, fromBinary, type JsonObject, type JsonValue, toBinary, toJsonString } from "@bufbuild/protobuf";
import { ExecuteRequestSchema, ExecuteResponseSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import type { CallInfo, CallResult } from "../pool/index.js";
import { fieldSize, varintFieldSize, writeBytesField, writeLengthPrefix, writeStringField, writeVarintField } from "../wire.js";
import type { ExecuteFields } from "./execute-call.js";
import { resultToProto } from "./pool-convert.js";
import { DECLINED, readStruct, valueSize, WireReader, writeValue } from "./struct-wire.js";

/**
 * Execute's request and response in wire form, without protobuf-es messages
 * on the common path. protobuf-es builds a Struct of Values from the
 * arguments and a Value from the result, then walks them again to write
 * JSON or bytes: several times what the rest of a call costs the server.
 * These read and write the same text and bytes (tests compare them with
 * protobuf-es's over many inputs; struct-wire.ts has the binary Struct and
 * Value); whatever is not the common shape goes through protobuf-es, or
 * returns undefined here and the caller serves it the general way.
 */

const NO_BINARY_ARGS: { [key: string]: Uint8Array } = Object.freeze({}) as { [key: string]: Uint8Array };

/** An ExecuteRequest's fields at their defaults, for the readers to fill in. */
function emptyRequest(): ExecuteFields {
  return { pool: "", tool: "", args: undefined, argsJson: "", binaryArgs: NO_BINARY_ARGS, sessionId: "", idempotent: false, timeout: undefined, resultAsJson: false };
}
const utf8 = new TextDecoder();
// A key protobuf-es would store on a plain object's prototype instead; such input goes the general way.
const PROTO_KEY = Buffer.from('"__proto__"');

type Field = "pool" | "tool" | "args" | "argsJson" | "sessionId" | "idempotent" | "resultAsJson";
/** JSON names protobuf-es accepts for the fields read here: the lowerCamel name and the proto name. */
const FIELDS = new Map<string, Field>([
  ["pool", "pool"],
  ["tool", "tool"],
  ["args", "args"],
  ["argsJson", "argsJson"],
  ["args_json", "argsJson"],
  ["sessionId", "sessionId"],
  ["session_id", "sessionId"],
  ["idempotent", "idempotent"],
  ["resultAsJson", "resultAsJson"],
  ["result_as_json", "resultAsJson"],
]);

/**
 * An ExecuteRequest from Connect JSON, when it has the common shape: an
 * object of the fields above with values of their JSON type (args an
 * object), each named once. Anything else (binary arguments, a timeout,
 * nulls, unknown or repeated fields, malformed JSON) is undefined: the
 * general path parses it, and answers its errors as protobuf-es words them.
 */
export function executeFromJson(body: Uint8Array): ExecuteFields | undefined {
  if (Buffer.from(body.buffer, body.byteOffset, body.byteLength).indexOf(PROTO_KEY) >= 0) return undefined;
  const text = utf8.decode(body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || !plainJson(text, MAX_DEPTH)) return undefined;
  const req = emptyRequest();
  let seen = 0;
  for (const key in parsed) {
    const field = FIELDS.get(key);
    if (field === undefined) return undefined;
    const bit = 1 << FIELD_BITS[field];
    if ((seen & bit) !== 0) return undefined;
    seen |= bit;
    const value = (parsed as Record<string, unknown>)[key];
    switch (field) {
      case "args":
        if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
        req.args = value as JsonObject;
        break;
      case "idempotent":
      case "resultAsJson":
        if (typeof value !== "boolean") return undefined;
        req[field] = value;
        break;
      default:
        if (typeof value !== "string") return undefined;
        req[field] = value;
    }
  }
  return req;
}

/**
 * How deep the reader lets JSON nest. protobuf-es refuses a message nested
 * over 100 deep, and each level of JSON in `args` is two (a Value and its
 * Struct or ListValue): deeper input is protobuf-es's to refuse.
 */
const MAX_DEPTH = 32;

/**
 * Whether JSON text that JSON.parse accepted nests at most `maxDepth` deep
 * and names no member twice in any object (JSON.parse keeps the last of
 * them; protobuf-es refuses them, as the general path must).
 */
function plainJson(text: string, maxDepth: number): boolean {
  // Per open container: the member names of an object so far, or null for an array.
  const open: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = i + 1;
      let escaped = false;
      for (let d = text.charCodeAt(end); d !== 0x22; d = text.charCodeAt(end)) {
        if (d === 0x5c /* \ */) {
          escaped = true;
          end += 2;
        } else {
          end++;
        }
      }
      if (expectKey) {
        const key = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        const names = open[open.length - 1]!;
        if (names.has(key)) return false;
        names.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      open.push(c === 0x7b ? new Set() : null);
      if (open.length > maxDepth) return false;
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = open[open.length - 1] !== null;
    }
  }
  return true;
}

const FIELD_BITS: Record<Field, number> = { pool: 0, tool: 1, args: 2, argsJson: 3, sessionId: 4, idempotent: 5, resultAsJson: 6 };

/**
 * An ExecuteRequest from protobuf binary, or undefined when it does not
 * parse (the general path reports why). The common shape is read by hand
 * (see readExecuteRequest); any other goes through protobuf-es.
 */
export function executeFromBinary(body: Uint8Array, options?: Partial<BinaryReadOptions>): ExecuteFields | undefined {
  try {
    return readExecuteRequest(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  } catch (e) {
    if (e !== DECLINED) throw e;
  }
  try {
    return fromBinary(ExecuteRequestSchema, body, options);
  } catch {
    return undefined;
  }
}

// ExecuteRequest's tags read by hand: binary_args (4), timeout (7) and unknown fields are declined.
const REQUEST_POOL = 0x0a;
const REQUEST_TOOL = 0x12;
const REQUEST_ARGS = 0x1a;
const REQUEST_SESSION_ID = 0x2a;
const REQUEST_IDEMPOTENT = 0x30;
const REQUEST_ARGS_JSON = 0x42;
const REQUEST_RESULT_AS_JSON = 0x48;

/** An ExecuteRequest of the fields above, each at most once, in canonical encoding; throws DECLINED for anything else. */
export function readExecuteRequest(buf: Buffer): ExecuteFields {
  const req = emptyRequest();
  const r = new WireReader(buf);
  let seen = 0;
  while (r.pos < r.end) {
    const tag = buf[r.pos++]!;
    // One bit per field number: a field written twice (protobuf keeps the last, or merges) is declined.
    const bit = 1 << (tag >> 3);
    if ((seen & bit) !== 0) throw DECLINED;
    seen |= bit;
    switch (tag) {
      case REQUEST_POOL:
        req.pool = r.string();
        break;
      case REQUEST_TOOL:
        req.tool = r.string();
        break;
      case REQUEST_ARGS:
        req.args = readStruct(r, r.delimited());
        break;
      case REQUEST_SESSION_ID:
        req.sessionId = r.string();
        break;
      case REQUEST_IDEMPOTENT:
        req.idempotent = r.bool();
        break;
      case REQUEST_ARGS_JSON:
        req.argsJson = r.string();
        break;
      case REQUEST_RESULT_AS_JSON:
        req.resultAsJson = r.bool();
        break;
      default:
        throw DECLINED;
    }
  }
  return req;
}

// Past this many characters a result could nest deeper than protobuf-es's
// Value takes (100): the general path decides.
const SHORT_RESULT = 200;

/** The ExecuteResponse for a result as Connect JSON text, as protobuf-es's toJsonString writes it. */
export function executeResponseJson(result: CallResult, asJson: boolean): string {
  const { json, info } = result;
  if (json === undefined || (!asJson && (json.length > SHORT_RESULT || !finite(result.value))) || !plainInfo(info)) {
    return toJsonString(ExecuteResponseSchema, resultToProto(result, asJson));
  }
  const infoJson = callInfoJson(info);
  if (asJson) return `{"info":${infoJson},"resultJson":${JSON.stringify(utf8.decode(json))}}`;
  return `{"result":${JSON.stringify(result.value)},"info":${infoJson}}`;
}

/** Whether a JSON value holds only finite numbers (JSON.parse reads 1e400 as Infinity, which a Value cannot carry). */
function finite(value: JsonValue): boolean {
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value !== "object" || value === null) return true;
  if (Array.isArray(value)) return value.every(finite);
  for (const key in value) if (!finite(value[key]!)) return false;
  return true;
}

/** The ExecuteResponse for a result as protobuf binary, as toBinary writes it. */
export function executeResponseBinary(result: CallResult, asJson: boolean): Uint8Array {
  if (!isJsonResult(result)) return toBinary(ExecuteResponseSchema, resultToProto(result, asJson));
  if (asJson) {
    const buf = Buffer.allocUnsafe(jsonResultSize(result));
    writeJsonResult(buf, 0, result);
    return buf;
  }
  const sizes: number[] = [];
  let valueBody: number;
  try {
    valueBody = valueSize(result.value, sizes);
  } catch (e) {
    if (e !== DECLINED) throw e;
    return toBinary(ExecuteResponseSchema, resultToProto(result, asJson));
  }
  const infoSize = callInfoSize(result.info);
  const buf = Buffer.allocUnsafe(fieldSize(valueBody) + fieldSize(infoSize));
  let o = writeLengthPrefix(buf, 0, RESPONSE_RESULT, valueBody);
  o = writeValue(buf, o, result.value, sizes, { i: 0 });
  writeCallInfo(buf, o, result.info, infoSize);
  return buf;
}

/** A result the hand-written binary form covers: JSON text and plain info (see plainInfo). */
export type JsonResult = CallResult & { json: Uint8Array };

/** Whether a result's binary ExecuteResponse with result_json can be written by writeJsonResult. */
export function isJsonResult(result: CallResult): result is JsonResult {
  return result.json !== undefined && plainInfo(result.info);
}

/** The size of an ExecuteResponse body carrying `result_json` and `info`. */
export function jsonResultSize(result: JsonResult): number {
  return fieldSize(callInfoSize(result.info)) + fieldSize(result.json.length);
}

/** Writes an ExecuteResponse body carrying `result_json` and `info` at `o`, as toBinary would; returns the end. */
export function writeJsonResult(buf: Buffer, o: number, result: JsonResult): number {
  o = writeCallInfo(buf, o, result.info, callInfoSize(result.info));
  // A string field's bytes are its UTF-8 text: the worker's JSON goes as it came.
  return writeBytesField(buf, o, RESPONSE_RESULT_JSON, result.json);
}

/** Writes ExecuteResponse.info (`size` its body's size) at `o`; returns the end. */
function writeCallInfo(buf: Buffer, o: number, info: CallInfo, size: number): number {
  const workerLen = Buffer.byteLength(info.workerId);
  o = writeLengthPrefix(buf, o, RESPONSE_INFO, size);
  if (workerLen > 0) o = writeStringField(buf, o, INFO_WORKER_ID, info.workerId, workerLen);
  if (info.workerPid !== 0) o = writeVarintField(buf, o, INFO_WORKER_PID, info.workerPid);
  if (info.attempts !== 0) o = writeVarintField(buf, o, INFO_ATTEMPTS, info.attempts);
  o = writeDuration(buf, o, INFO_QUEUED, durationOf(info.queuedMs));
  return writeDuration(buf, o, INFO_RAN, durationOf(info.ranMs));
}

function callInfoSize(info: CallInfo): number {
  const workerLen = Buffer.byteLength(info.workerId);
  return (workerLen > 0 ? fieldSize(workerLen) : 0)
    + (info.workerPid !== 0 ? varintFieldSize(info.workerPid) : 0)
    + (info.attempts !== 0 ? varintFieldSize(info.attempts) : 0)
    + fieldSize(durationSize(durationOf(info.queuedMs))) + fieldSize(durationSize(durationOf(info.ranMs)));
}

// Tags: (field number << 3) | wire type (0 varint, 2 length-delimited).
const RESPONSE_RESULT = 0x0a; // ExecuteResponse.result = 1
const RESPONSE_INFO = 0x1a; // ExecuteResponse.info = 3
const RESPONSE_RESULT_JSON = 0x22; // ExecuteResponse.result_json = 4
const INFO_WORKER_ID = 0x0a;
const INFO_WORKER_PID = 0x10;
const INFO_ATTEMPTS = 0x18;
const INFO_QUEUED = 0x22;
const INFO_RAN = 0x2a;
const DURATION_SECONDS = 0x08;
const DURATION_NANOS = 0x10;

/** Info the hand-written forms cover: non-negative pid and times (a remote worker's pid may be anything). */
function plainInfo(info: CallInfo): boolean {
  return info.workerPid >= 0 && info.queuedMs >= 0 && info.ranMs >= 0;
}

/** CallInfo as protobuf-es writes it in JSON (fields in number order, defaults left out, durations as "1.500s"). */
function callInfoJson(info: CallInfo): string {
  let out = "{";
  if (info.workerId !== "") out += `"workerId":${JSON.stringify(info.workerId)},`;
  if (info.workerPid !== 0) out += `"workerPid":${info.workerPid},`;
  if (info.attempts !== 0) out += `"attempts":${info.attempts},`;
  return `${out}"queued":"${durationJson(info.queuedMs)}","ran":"${durationJson(info.ranMs)}"}`;
}

/** As durationFromMs(Math.round(ms)) then toJson writes it, for ms >= 0: "0s", "2s", "0.005s", "1.500s". */
function durationJson(ms: number): string {
  const { seconds, nanos } = durationOf(ms);
  return nanos === 0 ? `${seconds}s` : `${seconds}.${String(nanos / 1_000_000).padStart(3, "0")}s`;
}

/** As durationFromMs(Math.round(ms)) has it, for ms >= 0. */
function durationOf(ms: number): { seconds: number; nanos: number } {
  const whole = Math.round(ms);
  const seconds = Math.floor(whole / 1000);
  return { seconds, nanos: (whole - seconds * 1000) * 1_000_000 };
}

function durationSize(d: { seconds: number; nanos: number }): number {
  return (d.seconds !== 0 ? varintFieldSize(d.seconds) : 0) + (d.nanos !== 0 ? varintFieldSize(d.nanos) : 0);
}

/** A Duration field: tag, length, its non-zero fields. */
function writeDuration(buf: Buffer, o: number, tag: number, d: { seconds: number; nanos: number }): number {
  o = writeLengthPrefix(buf, o, tag, durationSize(d));
  if (d.seconds !== 0) o = writeVarintField(buf, o, DURATION_SECONDS, d.seconds);
  if (d.nanos !== 0) o = writeVarintField(buf, o, DURATION_NANOS, d.nanos);
  return o;
}
