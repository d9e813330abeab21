import { create, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { type ExecuteManyResponse, ExecuteManyResponseSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import type { PyfleetError } from "../errors.js";
import type { CallResult } from "../pool/index.js";
import { fieldSize, varintFieldSize, varintSize, writeBytesField, writeLengthPrefix, writeStringField, writeVarint, writeVarintField } from "../wire.js";
import { resultToProto } from "./pool-convert.js";

/** A finished ExecuteMany call, as plain data until it is written. */
export type Answer =
  | { id: string; result: CallResult; asJson: boolean; error?: undefined }
  | { id: string; error: PyfleetError };

/** One answer as its own ExecuteManyResponse. */
export function answerToProto(answer: Answer): ExecuteManyResponse {
  if (answer.error) {
    const err = answer.error;
    return create(ExecuteManyResponseSchema, {
      id: answer.id,
      outcome: { case: "error", value: { code: err.status, message: err.message, toolError: err.toolError } },
    });
  }
  return create(ExecuteManyResponseSchema, { id: answer.id, outcome: { case: "result", value: resultToProto(answer.result, answer.asJson) } });
}

// Tags: (field number << 3) | wire type (0 varint, 2 length-delimited).
const ANSWERS = 4; // ExecuteManyResponse.answers
const ANSWER_ID = 0x0a; // ExecuteManyResponse.id = 1
const ANSWER_RESULT = 0x12; // ExecuteManyResponse.result = 2
const RESULT_INFO = 0x1a; // ExecuteResponse.info = 3
const RESULT_JSON = 0x22; // ExecuteResponse.result_json = 4
const INFO_WORKER_ID = 0x0a;
const INFO_WORKER_PID = 0x10;
const INFO_ATTEMPTS = 0x18;
const INFO_QUEUED = 0x22;
const INFO_RAN = 0x2a;
const DURATION_SECONDS = 0x08;
const DURATION_NANOS = 0x10;

/**
 * Several answers in one message (`answers`). The common answer, a result as
 * the worker's JSON text, is written straight to bytes: built as protobuf-es
 * messages it costs five objects to create and walk, more than the rest of
 * its way through the server. The bytes are what toBinary writes for the
 * same answers (a test checks it), carried as the message's unknown fields,
 * which toBinary writes out as they are and every parser reads as `answers`.
 */
export function answersMessage(answers: Answer[]): ExecuteManyResponse {
  const message = create(ExecuteManyResponseSchema);
  message.$unknown = answers.map((answer) => ({ no: ANSWERS, wireType: WireType.LengthDelimited, data: answerBytes(answer) }));
  return message;
}

/** An answer as a length-prefixed ExecuteManyResponse. */
function answerBytes(answer: Answer): Uint8Array {
  if (answer.error || !answer.asJson || !answer.result.json || answer.result.info.workerPid < 0) {
    const body = toBinary(ExecuteManyResponseSchema, answerToProto(answer));
    const out = Buffer.allocUnsafe(varintSize(body.length) + body.length);
    out.set(body, writeVarint(out, 0, body.length));
    return out;
  }
  const { id, result: { json, info } } = answer;
  const idLen = Buffer.byteLength(id);
  const workerLen = Buffer.byteLength(info.workerId);
  const queued = durationOf(info.queuedMs);
  const ran = durationOf(info.ranMs);
  const infoLen = (workerLen > 0 ? fieldSize(workerLen) : 0)
    + (info.workerPid !== 0 ? varintFieldSize(info.workerPid) : 0)
    + (info.attempts !== 0 ? varintFieldSize(info.attempts) : 0)
    + fieldSize(durationSize(queued)) + fieldSize(durationSize(ran));
  const resultLen = fieldSize(infoLen) + fieldSize(json.length);
  const bodyLen = (idLen > 0 ? fieldSize(idLen) : 0) + fieldSize(resultLen);

  const buf = Buffer.allocUnsafe(varintSize(bodyLen) + bodyLen);
  let o = writeVarint(buf, 0, bodyLen);
  if (idLen > 0) o = writeStringField(buf, o, ANSWER_ID, id, idLen);
  o = writeLengthPrefix(buf, o, ANSWER_RESULT, resultLen);
  o = writeLengthPrefix(buf, o, RESULT_INFO, infoLen);
  if (workerLen > 0) o = writeStringField(buf, o, INFO_WORKER_ID, info.workerId, workerLen);
  if (info.workerPid !== 0) o = writeVarintField(buf, o, INFO_WORKER_PID, info.workerPid);
  if (info.attempts !== 0) o = writeVarintField(buf, o, INFO_ATTEMPTS, info.attempts);
  o = writeDuration(buf, o, INFO_QUEUED, queued);
  o = writeDuration(buf, o, INFO_RAN, ran);
  // A string field's bytes are its UTF-8 text: the worker's JSON goes as it came.
  writeBytesField(buf, o, RESULT_JSON, json);
  return buf;
}

/** As durationFromMs(Math.round(ms)) has it, for ms >= 0. */
function durationOf(ms: number): { seconds: number; nanos: number } {
  const whole = Math.max(0, Math.round(ms));
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
