import { randomUUID } from "node:crypto";
import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { codeName, PyfleetError } from "../errors.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import { requestIdKey, tenantKey } from "./context.js";

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** An outcome's code name: the errorInterceptor inside this one has made every failure a ConnectError. */
function outcomeCode(e: unknown): string {
  if (e instanceof ConnectError) return codeName(e.code);
  return e instanceof PyfleetError ? e.code : "internal";
}

/** The request's id: the client's `x-request-id` when it is a sane one, else a new one. */
export function requestIdOf(incoming: string | null | undefined): string {
  return incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** What one RPC did, for recordRpc. */
export interface RpcOutcome {
  /** "package.Service/Method". */
  method: string;
  /** performance.now() when the RPC began. */
  started: number;
  requestId: string;
  tenant: string;
  /** The failure, if it failed: a Connect error (or a PyfleetError for a stream the client left). */
  error?: unknown;
}

/**
 * Counts and times an RPC by method and code, and logs it: INTERNAL errors
 * at error level with their cause, everything else at debug.
 */
export function recordRpc(logger: Logger, metrics: Metrics, outcome: RpcOutcome): void {
  const { method, error } = outcome;
  const code = error === undefined ? "ok" : outcomeCode(error);
  const seconds = (performance.now() - outcome.started) / 1000;
  metrics.recordRpc(method, code, seconds);
  if (code !== "internal" && !logger.isLevelEnabled("debug")) return;
  const fields = { requestId: outcome.requestId, method, code, ms: Math.round(seconds * 1000), tenant: outcome.tenant || undefined };
  if (code === "internal") {
    logger.error({ ...fields, err: error instanceof ConnectError ? error.cause ?? error : error }, `${method} failed: ${(error as Error).message}`);
  } else {
    logger.debug(fields, method);
  }
}

/**
 * Gives every request an id (the client's `x-request-id` or a new one, echoed
 * back), counts and times it by method and code, and logs it (recordRpc).
 */
export function observeInterceptor(logger: Logger, metrics: Metrics): Interceptor {
  return (next) => async (req) => {
    const requestId = requestIdOf(req.header.get("x-request-id"));
    req.contextValues.set(requestIdKey, requestId);
    const method = `${req.service.typeName}/${req.method.name}`;
    const started = performance.now();
    const finish = (error: unknown) => recordRpc(logger, metrics, { method, started, requestId, tenant: req.contextValues.get(tenantKey), error });
    let res;
    try {
      res = await next(req);
    } catch (e) {
      finish(e);
      throw e;
    }
    res.header.set("x-request-id", requestId);
    if (!res.stream) {
      finish(undefined);
      return res;
    }
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        let outcome: unknown = new PyfleetError("canceled", "the client left the stream");
        try {
          yield* messages;
          outcome = undefined;
        } catch (e) {
          outcome = e;
          throw e;
        } finally {
          finish(outcome);
        }
      })(),
    };
  };
}
