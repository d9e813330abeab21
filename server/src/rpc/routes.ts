import type { ConnectRouter } from "@connectrpc/connect";
import { Health } from "@pyfleet/sdk/gen/grpc/health/v1/health_pb";
import { ComputeService } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { WorkerLinkService } from "@pyfleet/sdk/gen/pyfleet/worker/v1/worker_pb";
import type { HealthRegistry } from "../health/index.js";
import { healthService } from "./health.js";

export interface RouteDeps {
  health: HealthRegistry;
}

/** The services the server offers, for the Connect router. */
export const servedServices = [Health, PoolService, ComputeService, WorkerLinkService] as const;

/**
 * Registers every service. A method without an implementation answers
 * UNIMPLEMENTED (the router fills it in), so the whole contract is routable
 * from the start.
 */
export function routes(deps: RouteDeps) {
  return (router: ConnectRouter) => {
    router.service(Health, healthService(deps.health));
    router.service(PoolService, {});
    router.service(ComputeService, {});
    router.service(WorkerLinkService, {});
  };
}
