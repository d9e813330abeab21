import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
  HealthListResponseSchema,
} from "@pyfleet/sdk/gen/grpc/health/v1/health_pb";
import { PyfleetError } from "../errors.js";
import type { HealthRegistry, ServingStatus } from "../health/index.js";

function toProto(status: ServingStatus | undefined): Status {
  if (status === undefined) return Status.SERVICE_UNKNOWN;
  return status === "SERVING" ? Status.SERVING : Status.NOT_SERVING;
}

/** The standard grpc.health.v1.Health service over a HealthRegistry. */
export function healthService(registry: HealthRegistry): Partial<ServiceImpl<typeof Health>> {
  return {
    check(req) {
      const status = registry.get(req.service);
      if (status === undefined) {
        throw new PyfleetError("not_found", `unknown service "${req.service}"; known: ${[...registry.list().keys()].filter(Boolean).join(", ")}`);
      }
      return create(HealthCheckResponseSchema, { status: toProto(status) });
    },
    list() {
      const statuses: Record<string, ReturnType<typeof create<typeof HealthCheckResponseSchema>>> = {};
      for (const [service, status] of registry.list()) {
        statuses[service] = create(HealthCheckResponseSchema, { status: toProto(status) });
      }
      return create(HealthListResponseSchema, { statuses });
    },
    async *watch(req, ctx) {
      for await (const status of registry.watch(req.service, ctx.signal)) {
        yield create(HealthCheckResponseSchema, { status: toProto(status) });
      }
    },
  };
}
