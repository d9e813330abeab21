import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ExecuteManyResponseSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { describe, expect, it } from "vitest";
import { PyfleetError } from "../../src/errors.js";
import { CallResult } from "../../src/pool/index.js";
import { type Answer, answersMessage, answerToProto } from "../../src/rpc/many-answers.js";

const json = (text: string) => new TextEncoder().encode(text);
const info = (over: Partial<CallResult["info"]> = {}) => ({ workerId: "w-1", workerPid: 4242, attempts: 1, queuedMs: 0, ranMs: 0.4, ...over });

const ANSWERS: Answer[] = [
  { id: "a", result: new CallResult(json('{"text":"hello","n":1}'), undefined, info()), asJson: true },
  { id: "ünï-çødé", result: new CallResult(json('"snow ☃"'), undefined, info({ queuedMs: 1_234.6, ranMs: 65_000_001 })), asJson: true },
  { id: "", result: new CallResult(json("null"), undefined, info({ workerId: "", workerPid: 0, attempts: 0 })), asJson: true },
  { id: "value", result: new CallResult(json("[1,2.5,{}]"), undefined, info()), asJson: false },
  { id: "bytes", result: new CallResult(undefined, new Uint8Array([0, 1, 255]), info()), asJson: true },
  { id: "failed", error: new PyfleetError("unknown", "tool raised", { type: "ValueError", message: "bad", traceback: "tb", tool: "t", workerId: "w-1" }) },
];

describe("ExecuteMany answers written by hand", () => {
  it("are byte for byte what toBinary writes for the same answers, in order", () => {
    const byCodec = toBinary(ExecuteManyResponseSchema, create(ExecuteManyResponseSchema, { answers: ANSWERS.map(answerToProto) }));
    expect(Buffer.from(toBinary(ExecuteManyResponseSchema, answersMessage(ANSWERS))).toString("hex")).toBe(Buffer.from(byCodec).toString("hex"));
  });

  it("read back as the answers they are", () => {
    const parsed = fromBinary(ExecuteManyResponseSchema, toBinary(ExecuteManyResponseSchema, answersMessage(ANSWERS)));
    expect(parsed.answers.map((a) => a.id)).toEqual(ANSWERS.map((a) => a.id));
    const first = parsed.answers[0]!.outcome;
    expect(first.case === "result" && first.value.resultJson).toBe('{"text":"hello","n":1}');
    expect(first.case === "result" && first.value.info?.workerPid).toBe(4242);
    const second = parsed.answers[1]!.outcome;
    expect(second.case === "result" && [second.value.resultJson, second.value.info?.ran?.seconds, second.value.info?.queued?.nanos]).toEqual(['"snow ☃"', 65_000n, 235_000_000]);
    expect(parsed.answers[5]!.outcome.case).toBe("error");
  });
});
