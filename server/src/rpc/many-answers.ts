import { create, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { type ExecuteManyResponse, ExecuteManyResponseSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import type { PyfleetError } from "../errors.js";
import type { CallResult } from "../pool/index.js";
import { fieldSize, varintSize, writeLengthPrefix, writeStringField, writeVarint } from "../wire.js";
import { isJsonResult, jsonResultSize, writeJsonResult } from "./execute-wire.js";
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
  if (answer.error || !answer.asJson || !isJsonResult(answer.result)) {
    const body = toBinary(ExecuteManyResponseSchema, answerToProto(answer));
    const out = Buffer.allocUnsafe(varintSize(body.length) + body.length);
    out.set(body, writeVarint(out, 0, body.length));
    return out;
  }
  const { id, result } = answer;
  const idLen = Buffer.byteLength(id);
  const resultLen = jsonResultSize(result);
  const bodyLen = (idLen > 0 ? fieldSize(idLen) : 0) + fieldSize(resultLen);
  const buf = Buffer.allocUnsafe(varintSize(bodyLen) + bodyLen);
  let o = writeVarint(buf, 0, bodyLen);
  if (idLen > 0) o = writeStringField(buf, o, ANSWER_ID, id, idLen);
  o = writeLengthPrefix(buf, o, ANSWER_RESULT, resultLen);
  writeJsonResult(buf, o, result);
  return buf;
}
