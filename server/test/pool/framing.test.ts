import { create, toBinary } from "@bufbuild/protobuf";
import { WorkerFrameSchema } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import { describe, expect, it } from "vitest";
import { FrameDecoder, MAX_FRAME_BYTES } from "../../src/pool/link/framing.js";

function frame(nonce: number): Buffer {
  const body = toBinary(WorkerFrameSchema, create(WorkerFrameSchema, { frame: { case: "pong", value: { nonce } } }));
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}

describe("frame decoder", () => {
  it("reassembles frames split at every byte boundary", () => {
    const bytes = Buffer.concat([frame(1), frame(2), frame(3)]);
    for (let split = 1; split < bytes.length; split++) {
      const decoder = new FrameDecoder();
      const frames = [...decoder.push(bytes.subarray(0, split)), ...decoder.push(bytes.subarray(split))];
      expect(frames.map((f) => (f.frame.case === "pong" ? f.frame.value.nonce : -1))).toEqual([1, 2, 3]);
    }
  });

  it("rejects a frame over the size limit instead of buffering it", () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    expect(() => new FrameDecoder().push(header)).toThrow(/limit/);
  });
});
