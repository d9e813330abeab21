import type net from "node:net";
import type { ServerFrame, WorkerFrame } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import { encodeFrame, FrameDecoder } from "./framing.js";
import { type CallFields, encodeCallFrame } from "./hot-frames.js";
import type { Link } from "./link.js";

/** A Link over a connected Unix socket. */
export class SocketLink implements Link {
  private frameListener: (frame: WorkerFrame) => void = () => {};
  private closeListeners: ((reason: string) => void)[] = [];
  private corked = false;
  private closeReason: string | undefined;

  constructor(
    private readonly socket: net.Socket,
    decoder: FrameDecoder,
    /** Frames that arrived with the first chunk, after Hello. */
    early: WorkerFrame[],
  ) {
    socket.setNoDelay?.(true);
    const queued = [...early];
    // Deliver early frames once a listener is attached.
    this.frameListener = (frame) => queued.push(frame);
    this.flushEarly = () => {
      const frames = queued.splice(0);
      for (const frame of frames) this.frameListener(frame);
    };
    socket.on("data", (chunk: Buffer) => {
      let frames: WorkerFrame[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        this.close(`protocol error: ${(e as Error).message}`);
        return;
      }
      for (const frame of frames) this.frameListener(frame);
    });
    socket.on("error", (e) => this.finish(`link error: ${e.message}`));
    socket.on("close", () => this.finish("link closed by the worker"));
  }

  private flushEarly: () => void;

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  send(frame: ServerFrame): void {
    this.write(encodeFrame(frame));
  }

  sendCall(call: CallFields): void {
    this.write(encodeCallFrame(call));
  }

  private write(bytes: Buffer): void {
    if (this.closed) return;
    // Frames written in the same event-loop turn leave in one write: a
    // write is a syscall, and under load several results arrive per turn,
    // each releasing a call.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(bytes);
  }

  onFrame(listener: (frame: WorkerFrame) => void): void {
    this.frameListener = listener;
    this.flushEarly();
  }

  onClose(listener: (reason: string) => void): void {
    if (this.closeReason !== undefined) listener(this.closeReason);
    else this.closeListeners.push(listener);
  }

  close(reason: string): void {
    this.finish(reason);
    this.socket.destroy();
  }

  private finish(reason: string) {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }
}
