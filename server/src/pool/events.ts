import type { ScaleEvent } from "./autoscaler.js";

export type PoolEventKind =
  | "worker.starting"
  | "worker.ready"
  | "worker.died"
  | "worker.recycled"
  | "session.repinned"
  | "queue.saturated"
  | "circuit.open"
  | "circuit.closed"
  | "scale.up"
  | "scale.down";

/** Something that happened in a pool. Emitted under its kind and under "event". */
export interface PoolEvent {
  kind: PoolEventKind;
  pool: string;
  time: number;
  workerId?: string;
  pid?: number;
  sessionId?: string;
  /** For dial-in workers: the group they attached with (e.g. a compute id). */
  group?: string;
  message?: string;
  /** For scale.up and scale.down: the autoscaling decision. */
  scale?: ScaleEvent;
}
