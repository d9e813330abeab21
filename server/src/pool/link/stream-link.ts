import { create } from "@bufbuild/protobuf";
import { type ServerFrame, ServerFrameSchema, type WorkerFrame } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import type { CallFields } from "./hot-frames.js";
import type { Link } from "./link.js";
import { BoundedChannel } from "../../channel.js";

/**
 * A Link over a remote worker's Attach stream: frames from the worker are
 * delivered to it, frames to the worker are read from `outgoing()`.
 */
export class StreamLink implements Link {
  private frameListener: ((frame: WorkerFrame) => void) | undefined;
  private readonly early: WorkerFrame[] = [];
  private readonly closeListeners: ((reason: string) => void)[] = [];
  /** Frames for the worker; unbounded like a socket's write buffer (the link has no backpressure). */
  private readonly queue = new BoundedChannel<ServerFrame>(Infinity, () => new Error("unreachable: the queue is unbounded"));
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
    this.queue.close();
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }

  /** Frames for the worker, until the link closes. */
  outgoing(): AsyncIterable<ServerFrame> {
    return this.queue;
  }
}
