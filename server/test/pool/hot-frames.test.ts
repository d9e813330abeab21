import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ServerFrameSchema, WorkerFrameSchema } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import { describe, expect, it } from "vitest";
import { encodeFrame } from "../../src/pool/link/framing.js";
import { type CallFields, decodeChunkFrame, decodeResultFrame, encodeCallFrame } from "../../src/pool/link/hot-frames.js";

const base: CallFields = {
  id: 1, tool: "echo", args: new Uint8Array(), binaryArgs: {}, sessionId: "", timeoutMs: 0, stream: false, chunkWindow: 0, requestId: "", traceparent: "", tracestate: "",
};

const calls: [string, CallFields][] = [
  ["defaults only", { ...base, tool: "" , id: 0 }],
  ["a plain call", { ...base, args: Buffer.from('{"text":"hello"}') }],
  ["every field", {
    id: 0xffffffff, tool: "tööl-✓", args: Buffer.alloc(300, 0x61), binaryArgs: { blob: Buffer.from([0, 1, 2]), "": new Uint8Array(), big: Buffer.alloc(20_000, 7) },
    sessionId: "sess-ü", timeoutMs: 2 ** 31, stream: true, chunkWindow: 256, requestId: "req-1",
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "vendor=ü1,other=2",
  }],
  ["multi-byte varints", { ...base, id: 300, timeoutMs: 16_384, chunkWindow: 2_097_152, args: Buffer.alloc(70_000, 0x20) }],
];

describe("hand-written hot frames", () => {
  it.each(calls)("encodes a Call frame byte for byte as the protobuf codec does: %s", (_, call) => {
    const general = encodeFrame(create(ServerFrameSchema, { frame: { case: "call", value: call } }));
    expect(encodeCallFrame(call).equals(general)).toBe(true);
  });

  it.each([
    ["json", { id: 7, value: { kind: { case: "json" as const, value: Buffer.from('{"a":1}') } } }],
    ["raw", { id: 0xfffffffe, value: { kind: { case: "raw" as const, value: Buffer.alloc(200, 3) } } }],
    ["empty json", { id: 1, value: { kind: { case: "json" as const, value: new Uint8Array() } } }],
    ["id 0", { id: 0, value: { kind: { case: "raw" as const, value: Buffer.from([9]) } } }],
  ])("reads a Result frame as the protobuf codec does: %s", (_, result) => {
    const bytes = toBinary(WorkerFrameSchema, create(WorkerFrameSchema, { frame: { case: "result", value: result } }));
    const fast = decodeResultFrame(bytes);
    const general = fromBinary(WorkerFrameSchema, bytes);
    expect(fast?.frame.case).toBe("result");
    if (fast?.frame.case !== "result" || general.frame.case !== "result") return;
    expect(fast.frame.value.id).toBe(general.frame.value.id);
    expect(fast.frame.value.value?.kind.case).toBe(general.frame.value.value?.kind.case);
    expect(Buffer.from(fast.frame.value.value!.kind.value as Uint8Array)).toEqual(Buffer.from(general.frame.value.value!.kind.value as Uint8Array));
  });

  it.each([
    ["one json item", 1, [{ kind: { case: "json" as const, value: Buffer.from('{"i":0}') } }]],
    ["mixed items, big id", 70_000, [{ kind: { case: "json" as const, value: new Uint8Array() } }, { kind: { case: "raw" as const, value: Buffer.alloc(300, 1) } }]],
    ["no items", 5, []],
  ])("reads a Chunk frame as the protobuf codec does: %s", (_, id, items) => {
    const bytes = toBinary(WorkerFrameSchema, create(WorkerFrameSchema, { frame: { case: "chunk", value: { id, items } } }));
    const fast = decodeChunkFrame(bytes);
    const general = fromBinary(WorkerFrameSchema, bytes);
    if (fast?.frame.case !== "chunk" || general.frame.case !== "chunk") throw new Error("not a chunk frame");
    expect(fast.frame.value.id).toBe(general.frame.value.id);
    expect(fast.frame.value.items.map((p) => [p.kind.case, Buffer.from(p.kind.value as Uint8Array).toString("hex")]))
      .toEqual(general.frame.value.items.map((p) => [p.kind.case, Buffer.from(p.kind.value as Uint8Array).toString("hex")]));
    expect(decodeChunkFrame(bytes.subarray(0, bytes.length - 1))).toBeUndefined();
  });

  it("leaves every other frame, and anything it does not fully understand, to the general codec", () => {
    const pong = toBinary(WorkerFrameSchema, create(WorkerFrameSchema, { frame: { case: "pong", value: { nonce: 1 } } }));
    const noValue = toBinary(WorkerFrameSchema, create(WorkerFrameSchema, { frame: { case: "result", value: { id: 3 } } }));
    const result = toBinary(WorkerFrameSchema, create(WorkerFrameSchema, { frame: { case: "result", value: { id: 3, value: { kind: { case: "json", value: Buffer.from("1") } } } } }));
    const trailing = Buffer.concat([result, Buffer.from([0x08, 0x01])]);
    expect(decodeResultFrame(pong)).toBeUndefined();
    expect(decodeResultFrame(noValue)).toBeUndefined();
    expect(decodeResultFrame(trailing)).toBeUndefined();
    expect(decodeResultFrame(result.subarray(0, result.length - 1))).toBeUndefined();
    expect(decodeResultFrame(new Uint8Array())).toBeUndefined();
  });
});
