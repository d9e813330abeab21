import type { Duration } from "@bufbuild/protobuf/wkt";
import type { JsonObject } from "@bufbuild/protobuf";
import type { CallHandle, CallResult, PoolRegistry } from "../pool/index.js";
import type { CallTracer } from "../telemetry/index.js";
import { callArgs, durationMs, earliest, required } from "./validate.js";

/** The fields of an ExecuteRequest the handler reads (an ExecuteRequest message has them all). */
export interface ExecuteFields {
  pool: string;
  tool: string;
  args?: JsonObject;
  argsJson: string;
  binaryArgs: { [key: string]: Uint8Array };
  sessionId: string;
  idempotent: boolean;
  timeout?: Duration;
  resultAsJson: boolean;
}

/** Who makes an Execute call, and under which limits. */
export interface ExecuteCaller {
  /** The tenant. */
  owner: string;
  /** Aborts the call (a PyfleetError reason says why; any other means the caller cancelled). */
  signal: AbortSignal;
  /** Cancels this call alone when `signal` is shared (see CallHandle). */
  handle?: CallHandle | undefined;
  requestId: string;
  /** The RPC's deadline, in ms from now; undefined for none. */
  timeoutMs: number | undefined;
  /** The RPC's span, when tracing is on. */
  trace?: CallTracer | undefined;
  /** `args` already written as JSON text (see executeExpress), so the pool need not write it again. */
  argsText?: Uint8Array | undefined;
}

/**
 * Runs an Execute request on its pool, checking its fields in the order the
 * RPC always has (pool, arguments, tool, timeout): Execute's one
 * implementation, whether connect-es or the unary front's express lane
 * decoded the request.
 */
export function startExecute(pools: PoolRegistry, req: ExecuteFields, caller: ExecuteCaller): Promise<CallResult> {
  const pool = pools.get(req.pool);
  const { args, argsJson } = callArgs(req);
  const tool = required(req.tool, "tool");
  return pool.call(tool, args, {
    argsJson: argsJson ?? caller.argsText,
    owner: caller.owner,
    signal: caller.signal,
    handle: caller.handle,
    requestId: caller.requestId,
    idempotent: req.idempotent,
    binaryArgs: req.binaryArgs,
    sessionId: req.sessionId || undefined,
    timeoutMs: earliest(caller.timeoutMs, durationMs(req.timeout, "timeout")),
    trace: caller.trace,
  });
}
