import type { JsonValue } from "@bufbuild/protobuf";
import type { ToolSpec } from "@pyfleet/sdk/gen/pyfleet/pool/v1/tool_pb";
import { ErrorKind, type Error as ErrorFrame, type Payload } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import { type ErrorCode, PyfleetError } from "../errors.js";
import type { CallTrace, CallTracer } from "../telemetry/index.js";
import type { SessionRecord } from "./sessions/index.js";
import type { ActiveCall, CallRequest, Worker } from "./worker.js";

export interface ExecuteOptions {
  sessionId?: string;
  /** The tenant making the call; sessions of other tenants are NOT_FOUND. Default "". */
  owner?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Lets the caller cancel this one call when it shares `signal` with others (see CallHandle). */
  handle?: CallHandle;
  /** Safe to retry on another worker even if the tool is not marked idempotent. */
  idempotent?: boolean;
  binaryArgs?: Record<string, Uint8Array>;
  requestId?: string;
  /** The arguments' JSON text as the client sent it (`args` is its parse): Python gets it as is, so 5.0 stays a float. */
  argsJson?: Uint8Array;
  /** Traces the call (queue wait, dispatch, run) under the caller's span; absent when tracing is off. */
  trace?: CallTracer;
}

/**
 * Cancels one call whose caller shares an AbortSignal among many calls (the
 * calls of one HTTP/2 connection): the pool sets `cancel` when it takes the
 * call, and the caller calls it when its client gives up on that call alone.
 * A signal of its own per call, with the pool's listener on it, cost about
 * 5 µs of every call (measured on the unary front's HTTP/2 path).
 */
export interface CallHandle {
  cancel?: (() => void) | undefined;
}

export interface CallInfo {
  workerId: string;
  workerPid: number;
  attempts: number;
  queuedMs: number;
  ranMs: number;
}

/** A tool's return value: JSON text as the worker sent it (parsed on first use), or bytes. */
export class CallResult {
  private parsed: { value: JsonValue } | undefined;

  constructor(
    /** UTF-8 JSON text; undefined when the tool returned bytes. */
    readonly json: Uint8Array | undefined,
    /** Set when the tool returned bytes. */
    readonly binary: Uint8Array | undefined,
    readonly info: CallInfo,
  ) {}

  /** The JSON return value (null when the tool returned bytes). */
  get value(): JsonValue {
    this.parsed ??= { value: this.json ? parseJson(this.json) : null };
    return this.parsed.value;
  }
}

export type StreamEvent =
  | ChunkEvent
  | { kind: "binary"; value: Uint8Array }
  | { kind: "done"; result: JsonValue; json: Uint8Array; chunks: number; info: CallInfo };

/** A yielded JSON value: its text as the worker sent it, parsed on first use. */
export class ChunkEvent {
  readonly kind = "chunk";
  private parsed: { value: JsonValue } | undefined;

  constructor(
    /** UTF-8 JSON text. */
    readonly json: Uint8Array,
  ) {}

  get value(): JsonValue {
    this.parsed ??= { value: parseJson(this.json) };
    return this.parsed.value;
  }
}

/** A generator tool's events; `takeReady` batches what has already arrived. */
export interface ToolStream extends AsyncIterable<StreamEvent> {
  /** Up to `max` chunk events that are ready now, without waiting (counted as read). */
  takeReady(max: number): ChunkEvent[];
}

/** How a call delivers its outcome: to a promise (unary) or a channel (stream). */
export interface Outcome {
  chunk(items: Payload[], call: PendingCall): void;
  result(value: Payload | undefined, info: CallInfo): void;
  fail(error: PyfleetError): void;
}

/** A call from submit to settle: queued, running on a worker, or retried. */
export interface PendingCall {
  readonly request: Omit<CallRequest, "timeoutMs">;
  readonly session: SessionRecord | undefined;
  readonly idempotent: boolean;
  readonly deadline: number | undefined;
  readonly createdAt: number;
  readonly outcome: Outcome;
  attempts: number;
  chunksDelivered: number;
  queuedAt: number;
  dispatchedAt: number;
  active: { worker: Worker; call: ActiveCall } | undefined;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  queueTimer: NodeJS.Timeout | undefined;
  /** The calls sharing its abort signal (see Scheduler.callsOf). */
  signalGroup: Set<PendingCall> | undefined;
  /** Its spans; undefined when tracing is off. */
  trace: CallTrace | undefined;
}

/** A unary call's outcome: settles its promise. (A class, not closures: one object per call.) */
export class ResultOutcome implements Outcome {
  constructor(
    private readonly resolve: (result: CallResult) => void,
    private readonly reject: (error: PyfleetError) => void,
  ) {}

  chunk(): void {}

  result(payload: Payload | undefined, info: CallInfo): void {
    this.resolve(payload?.kind.case === "raw"
      ? new CallResult(undefined, payload.kind.value, info)
      : new CallResult(jsonOf(payload), undefined, info));
  }

  fail(error: PyfleetError): void {
    this.reject(error);
  }
}

/** The status code each kind of worker Error frame maps to. */
const KIND_CODES: Record<ErrorKind, ErrorCode> = {
  [ErrorKind.UNSPECIFIED]: "internal",
  [ErrorKind.TOOL_RAISED]: "unknown",
  [ErrorKind.UNKNOWN_TOOL]: "not_found",
  [ErrorKind.BAD_ARGUMENTS]: "invalid_argument",
  [ErrorKind.CANCELLED]: "canceled",
  [ErrorKind.DEADLINE_EXCEEDED]: "deadline_exceeded",
  [ErrorKind.NOT_SERIALIZABLE]: "unknown",
  [ErrorKind.OVERLOADED]: "resource_exhausted",
  [ErrorKind.INTERNAL]: "internal",
  [ErrorKind.NOT_STARTED]: "unavailable",
};

/** NOT_FOUND for a tool the pool's workers do not have, listing those they do. */
export function unknownToolError(tool: string, pool: string, tools: ReadonlyMap<string, ToolSpec>): PyfleetError {
  return new PyfleetError("not_found", `unknown tool "${tool}" in pool "${pool}"; known tools: ${[...tools.keys()].sort().join(", ")} (see ListTools)`);
}

/** A worker's Error frame as the error its caller sees. */
export function toolError(frame: ErrorFrame, tool: string, worker: Worker, pool: string, tools: ReadonlyMap<string, ToolSpec>): PyfleetError {
  const code = KIND_CODES[frame.kind] ?? "internal";
  switch (frame.kind) {
    case ErrorKind.TOOL_RAISED:
    case ErrorKind.NOT_SERIALIZABLE:
      return new PyfleetError(code, `tool "${tool}" raised ${frame.type || "an exception"}: ${frame.message}`, {
        type: frame.type || (frame.kind === ErrorKind.NOT_SERIALIZABLE ? "TypeError" : "Exception"),
        message: frame.message,
        traceback: frame.traceback,
        tool,
        workerId: worker.id,
      });
    case ErrorKind.UNKNOWN_TOOL:
      return unknownToolError(tool, pool, tools);
    default:
      return new PyfleetError(code, frame.message || `call to "${tool}" failed`);
  }
}

const decoder = new TextDecoder();
const NULL_JSON = new TextEncoder().encode("null");

/** A payload's JSON text; "null" when it carries none (no value, or bytes). */
export function jsonOf(payload: Payload | undefined): Uint8Array {
  return payload?.kind.case === "json" ? payload.kind.value : NULL_JSON;
}

export function parseJson(json: Uint8Array): JsonValue {
  return JSON.parse(decoder.decode(json)) as JsonValue;
}
