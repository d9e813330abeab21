import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { RpcSpan } from "../telemetry/index.js";

/**
 * The tenant a request acts for: the name of its API key, or "" when the
 * server runs without keys. Set by the auth interceptor; every handler that
 * touches tenant-owned objects (sessions, computes, jobs) passes it on.
 */
export const tenantKey = createContextKey<string>("", { description: "pyfleet tenant" });

/** The request id, for log correlation. */
export const requestIdKey = createContextKey<string>("", { description: "pyfleet request id" });

/** The RPC's span, when tracing is on (set by the trace interceptor): pool calls trace under it. */
export const rpcSpanKey = createContextKey<RpcSpan | undefined>(undefined, { description: "pyfleet RPC span" });

/** The tenant a handler acts for (see tenantKey). */
export function tenantOf(ctx: HandlerContext): string {
  return ctx.values.get(tenantKey);
}
