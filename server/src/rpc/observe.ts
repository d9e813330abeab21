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

/**
 * Gives every request an id (the client's `x-request-id` or a new one, echoed
 * back), counts and times it by method and code, and logs it: INTERNAL
 * errors at error level with their cause, everything else at debug.
 */
export function observeInterceptor(logger: Logger, metrics: Metrics): Interceptor {
  return (next) => async (req) => {
    const incoming = req.header.get("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.contextValues.set(requestIdKey, requestId);
    const method = `${req.service.typeName}/${req.method.name}`;
    const started = performance.now();
    const finish = (e: unknown) => {
      const code = e === undefined ? "ok" : outcomeCode(e);
      const seconds = (performance.now() - started) / 1000;
      metrics.rpcRequests.inc({ method, code });
      metrics.rpcSeconds.observe({ method, code }, seconds);
      const fields = { requestId, method, code, ms: Math.round(seconds * 1000), tenant: req.contextValues.get(tenantKey) || undefined };
      if (code === "internal") {
        logger.error({ ...fields, err: e instanceof ConnectError ? e.cause ?? e : e }, `${method} failed: ${(e as Error).message}`);
      } else {
        logger.debug(fields, method);
      }
    };
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
