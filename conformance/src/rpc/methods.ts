import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Health } from "@pyfleet/sdk/gen/grpc/health/v1/health_pb";
import { ServerReflection } from "@pyfleet/protocol/gen/grpc/reflection/v1/reflection_pb";
import { ServerReflection as ServerReflectionV1Alpha } from "@pyfleet/protocol/gen/grpc/reflection/v1alpha/reflection_pb";
import { ComputeService } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { ProviderService } from "@pyfleet/protocol/gen/pyfleet/provider/v1/provider_pb";
import { WorkerLinkService } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";

export const SERVICES: DescService[] = [Health, ServerReflection, ServerReflectionV1Alpha, PoolService, ComputeService, ProviderService, WorkerLinkService];

/** A method by "Service/Method", with the service's short or full name. */
export function findMethod(name: string): DescMethod {
  const slash = name.lastIndexOf("/");
  if (slash <= 0) throw new Error(`rpc "${name}" must look like "PoolService/Execute"`);
  const serviceName = name.slice(0, slash);
  const methodName = name.slice(slash + 1);
  const service = SERVICES.find((s) => s.typeName === serviceName || s.name === serviceName);
  if (!service) throw new Error(`unknown service "${serviceName}"; known: ${SERVICES.map((s) => s.name).join(", ")}`);
  const method = service.methods.find((m) => m.name === methodName);
  if (!method) throw new Error(`${service.name} has no method "${methodName}"; it has ${service.methods.map((m) => m.name).join(", ")}`);
  return method;
}
