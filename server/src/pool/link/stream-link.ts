import { create } from "@bufbuild/protobuf";
import { type ServerFrame, ServerFrameSchema, type WorkerFrame } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import type { CallFields } from "./hot-frames.js";
import type { Link } from "./link.js";

/**
 * A Link over a remote worker's Attach stream: frames from the worker are
 * delivered to it, frames to the worker are read from `outgoing()`.
 */
export class StreamLink implements Link {
  private frameListener: ((frame: WorkerFrame) => void) | undefined;
  private readonly early: WorkerFrame[] = [];
  private readonly closeListeners: ((reason: string) => void)[] = [];
  private readonly queue: ServerFrame[] = [];
  private wake: (() => void) | undefined;
  private closeReason: string | undefined;

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  /** A frame that arrived from the worker. */
  deliver(frame: WorkerFrame): void {
    if (this.closed) return;
    if (this.frameListener) this.frameListener(frame);
    else this.early.push(frame);
  }

  send(frame: ServerFrame): void {
    if (this.closed) return;
    this.queue.push(frame);
    this.wake?.();
  }

  sendCall(call: CallFields): void {
    this.send(create(ServerFrameSchema, { frame: { case: "call", value: call } }));
  }

  onFrame(listener: (frame: WorkerFrame) => void): void {
    this.frameListener = listener;
    for (const frame of this.early.splice(0)) listener(frame);
  }

  onClose(listener: (reason: string) => void): void {
    if (this.closeReason !== undefined) listener(this.closeReason);
    else this.closeListeners.push(listener);
  }

  close(reason: string): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    this.wake?.();
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }

  /** Frames for the worker, until the link closes. */
  async *outgoing(): AsyncGenerator<ServerFrame> {
    for (;;) {
      const frame = this.queue.shift();
      if (frame) {
        yield frame;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}
