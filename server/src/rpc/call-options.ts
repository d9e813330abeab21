import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { PyfleetError } from "../errors.js";
import type { ExecuteOptions } from "../pool/index.js";
import { rpcSpanKey, requestIdKey, tenantOf } from "./context.js";
import { earliest } from "./validate.js";

/**
 * The handler's signal as the pool understands it: aborted with a
 * PyfleetError saying whether the RPC's deadline passed or the client left.
 * `release()` once the calls it serves are over: connect aborts every
 * handler's signal when its RPC ends, and forwarding that would build an
 * error nobody reads (and, left attached, grow with an ExecuteMany stream).
 */
export function domainSignal(signal: AbortSignal): { signal: AbortSignal; release(): void; cancel(message: string): void } {
  const controller = new AbortController();
  const forward = {
    handleEvent() {
      const deadline = signal.reason instanceof ConnectError && signal.reason.code === Code.DeadlineExceeded;
      controller.abort(deadline
        ? new PyfleetError("deadline_exceeded", "the call's deadline passed")
        : new PyfleetError("canceled", "the client cancelled the call"));
    },
  };
  if (signal.aborted) forward.handleEvent();
  else signal.addEventListener("abort", forward, { once: true });
  return {
    signal: controller.signal,
    release() {
      signal.removeEventListener("abort", forward);
    },
    cancel(message: string) {
      controller.abort(new PyfleetError("canceled", message));
    },
  };
}

/** Call options from the RPC: tenant, deadline, cancellation (`signal`, from domainSignal), request id, the arguments' JSON text (from callArgs). */
export function callOptions(
  ctx: HandlerContext,
  fields: { sessionId: string; idempotent: boolean; binaryArgs: Record<string, Uint8Array> },
  timeoutMs: number | undefined,
  signal: AbortSignal,
  argsJson: Uint8Array | undefined,
): ExecuteOptions {
  const limit = earliest(ctx.timeoutMs(), timeoutMs);
  return {
    argsJson,
    owner: tenantOf(ctx),
    signal,
    requestId: ctx.values.get(requestIdKey),
    idempotent: fields.idempotent,
    binaryArgs: fields.binaryArgs,
    sessionId: fields.sessionId || undefined,
    timeoutMs: limit,
    trace: ctx.values.get(rpcSpanKey),
  };
}
