import type { Interceptor } from "@connectrpc/connect";
import type { SecretSet } from "../auth/index.js";
import { PyfleetError } from "../errors.js";
import { tenantKey } from "./context.js";

/** Services anyone may call: probes, reflection, and the worker link (it has its own tokens). */
const OPEN_SERVICES = new Set([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "pyfleet.worker.v1.WorkerLinkService",
]);

/**
 * API-key authentication: `Authorization: Bearer <key>`; the key's name
 * becomes the request's tenant. With no keys configured every request is
 * the tenant "".
 */
export function authInterceptor(keys: SecretSet<string>): Interceptor {
  return (next) => async (req) => {
    if (keys.size === 0 || OPEN_SERVICES.has(req.service.typeName)) return next(req);
    const header = req.header.get("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match) {
      throw new PyfleetError("unauthenticated", "missing API key: send the header `Authorization: Bearer <key>`");
    }
    const tenant = keys.match(match[1]!.trim());
    if (tenant === undefined) throw new PyfleetError("unauthenticated", "unknown API key; check the key you were given");
    req.contextValues.set(tenantKey, tenant);
    return next(req);
  };
}
