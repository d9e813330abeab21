import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { codeName, PyfleetError } from "../errors.js";
import type { Telemetry } from "../telemetry/index.js";
import { rpcSpanKey } from "./context.js";

function outcome(e: unknown): { code: string; message: string } {
  if (e instanceof ConnectError) return { code: codeName(e.code), message: e.rawMessage };
  if (e instanceof PyfleetError) return { code: e.code, message: e.message };
  return { code: "internal", message: String(e) };
}

/**
 * A server span per RPC, continuing the caller's W3C `traceparent`; pool
 * calls the handler makes get their spans under it (through rpcSpanKey).
 * Installed only when tracing is on: with it off, no interceptor, no cost.
 * Outermost but observe: it sees every failure as a Connect error.
 * `untraced` services get none (health probes, workers' hours-long links).
 */
export function traceInterceptor(telemetry: Telemetry, untraced: readonly string[] = []): Interceptor {
  const skip = new Set(untraced);
  return (next) => async (req) => {
    if (skip.has(req.service.typeName)) return next(req);
    const span = telemetry.rpc(`${req.service.typeName}/${req.method.name}`, req.header, {
      "rpc.system": "connect_rpc",
      "rpc.service": req.service.typeName,
      "rpc.method": req.method.name,
    });
    req.contextValues.set(rpcSpanKey, span);
    let res;
    try {
      res = await span.run(() => next(req));
    } catch (e) {
      const { code, message } = outcome(e);
      span.end(code, message);
      throw e;
    }
    if (!res.stream) {
      span.end();
      return res;
    }
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        let failed: unknown;
        let done = false;
        try {
          yield* messages;
          done = true;
        } catch (e) {
          failed = e;
          throw e;
        } finally {
          if (done) span.end();
          else if (failed !== undefined) span.end(outcome(failed).code, outcome(failed).message);
          else span.end("canceled", "the client left the stream");
        }
      })(),
    };
  };
}
