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
 * The tenant a request acts for, from its `Authorization: Bearer <key>`
 * header: the key's name. Undefined when the server has no keys or the
 * service is open to all (the request is then the tenant ""). Throws
 * UNAUTHENTICATED for a missing or unknown key.
 */
export function authenticate(keys: SecretSet<string>, service: string, authorization: string | null | undefined): string | undefined {
  if (keys.size === 0 || OPEN_SERVICES.has(service)) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec((authorization ?? "").trim());
  if (!match) {
    throw new PyfleetError("unauthenticated", "missing API key: send the header `Authorization: Bearer <key>`");
  }
  const tenant = keys.match(match[1]!.trim());
  if (tenant === undefined) throw new PyfleetError("unauthenticated", "unknown API key; check the key you were given");
  return tenant;
}

/** API-key authentication (see authenticate): the key's name becomes the request's tenant. */
export function authInterceptor(keys: SecretSet<string>): Interceptor {
  return (next) => async (req) => {
    const tenant = authenticate(keys, req.service.typeName, req.header.get("authorization"));
    if (tenant !== undefined) req.contextValues.set(tenantKey, tenant);
    return next(req);
  };
}
