import type { ServerFrame, WorkerFrame } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import type { CallFields } from "./hot-frames.js";

/**
 * One bidirectional frame channel to a worker: a local Unix socket or a
 * remote worker's Attach stream. The worker object on top neither knows nor
 * cares which.
 */
export interface Link {
  send(frame: ServerFrame): void;
  /** Sends a Call frame (the hot path: a socket link encodes it without building a message). */
  sendCall(call: CallFields): void;
  /** Called for every frame from the worker, in order. */
  onFrame(listener: (frame: WorkerFrame) => void): void;
  /** Called once when the link is gone, whoever closed it. */
  onClose(listener: (reason: string) => void): void;
  close(reason: string): void;
  readonly closed: boolean;
}
