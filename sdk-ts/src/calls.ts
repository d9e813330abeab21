import type { JsonValue } from "@bufbuild/protobuf";

// The call types shared by PoolClient and Session (a leaf, so the two do not import each other).

/** A tool's return value: JSON, or bytes when the tool returned bytes. */
export type ToolValue = JsonValue | Uint8Array;

export interface CallOptions {
  /** Run inside this session (an id or a Session). */
  session?: string | { readonly id: string };
  /** Give up after this long; the deadline reaches Python. */
  timeoutMs?: number;
  /** Aborting cancels the call, in Python too. */
  signal?: AbortSignal;
  /** Safe to retry on another worker if its worker dies. */
  idempotent?: boolean;
  /** Keyword arguments passed to Python as bytes. */
  binaryArgs?: Record<string, Uint8Array>;
}

export interface CallInfo {
  workerId: string;
  workerPid: number;
  attempts: number;
  queuedMs: number;
  ranMs: number;
}

export interface CallResult {
  value: ToolValue;
  info: CallInfo;
}

export interface StreamSummary {
  chunks: number;
  /** The generator's return value. */
  result: JsonValue;
  info: CallInfo | undefined;
}
