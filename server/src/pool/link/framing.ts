import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type ServerFrame,
  ServerFrameSchema,
  type WorkerFrame,
  WorkerFrameSchema,
} from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import { PyfleetError } from "../../errors.js";
import { decodeChunkFrame, decodeResultFrame } from "./hot-frames.js";

/** Frames larger than this are a protocol error: the link is closed. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;
const HEADER_BYTES = 4;

/** A ServerFrame with its 4-byte big-endian length prefix. */
export function encodeFrame(frame: ServerFrame): Buffer {
  const body = toBinary(ServerFrameSchema, frame);
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, HEADER_BYTES);
  return out;
}

/**
 * Splits a byte stream into WorkerFrames. Feed it chunks as they arrive; it
 * keeps a partial frame until the rest comes.
 */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** Returns the complete frames in `chunk` (plus what was buffered). Throws on a protocol error. */
  push(chunk: Buffer): WorkerFrame[] {
    let buf: Buffer;
    if (this.pendingBytes === 0) {
      buf = chunk;
    } else {
      this.pending.push(chunk);
      buf = Buffer.concat(this.pending, this.pendingBytes + chunk.length);
      this.pending = [];
      this.pendingBytes = 0;
    }
    const frames: WorkerFrame[] = [];
    let offset = 0;
    while (buf.length - offset >= HEADER_BYTES) {
      const size = buf.readUInt32BE(offset);
      if (size > MAX_FRAME_BYTES) {
        throw new PyfleetError("internal", `worker sent a ${size}-byte frame; the limit is ${MAX_FRAME_BYTES}`);
      }
      if (buf.length - offset - HEADER_BYTES < size) break;
      const start = offset + HEADER_BYTES;
      const body = buf.subarray(start, start + size);
      frames.push(decodeResultFrame(body) ?? decodeChunkFrame(body) ?? fromBinary(WorkerFrameSchema, body));
      offset = start + size;
    }
    if (offset < buf.length) {
      // Copy the tail so the big chunk it came from can be collected.
      const rest = Buffer.from(buf.subarray(offset));
      this.pending.push(rest);
      this.pendingBytes = rest.length;
    }
    return frames;
  }
}
