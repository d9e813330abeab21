import type { ComputeSpec } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import type { Capabilities, GpuType } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { PyfleetError } from "../errors.js";
import { type Budget, statusName } from "./context.js";
import type { Provider } from "./provider.js";
import { type ComputeRecord, FINAL_STATUSES } from "./store/index.js";

// The checks a spawn or an action passes before the orchestrator calls a provider.

/** A spawn within the tenant's budget: RESOURCE_EXHAUSTED past maxComputes or maxCostPerHour. */
export function checkBudget(owner: string, budget: Budget, addedCost: number, live: ComputeRecord[]) {
  if (budget.maxComputes !== undefined && live.length >= budget.maxComputes) {
    throw new PyfleetError("resource_exhausted", `budget: ${owner || "this tenant"} already runs ${live.length} computes (maxComputes ${budget.maxComputes}); terminate one first`);
  }
  const cost = live.reduce((sum, c) => sum + c.costPerHour, 0);
  if (budget.maxCostPerHour !== undefined && cost + addedCost > budget.maxCostPerHour) {
    throw new PyfleetError("resource_exhausted", `budget: this compute would bring ${owner || "this tenant"} to $${(cost + addedCost).toFixed(2)}/hour (maxCostPerHour $${budget.maxCostPerHour}); use a smaller GPU or terminate a compute`);
  }
}

/** FAILED_PRECONDITION for an action on a compute that has ended. */
export function assertNotFinal(record: ComputeRecord, action: string) {
  if (FINAL_STATUSES.has(record.status)) {
    throw new PyfleetError("failed_precondition", `compute ${record.id} is ${statusName(record.status)} and cannot ${action}`);
  }
}

/** UNIMPLEMENTED for what the provider cannot do, INVALID_ARGUMENT for bad ports. */
export function checkCapabilities(provider: Provider, caps: Capabilities, spec: ComputeSpec) {
  const missing = (what: string) => new PyfleetError("unimplemented", `provider "${provider.name}" does not support ${what} (see ListProviders)`);
  if (spec.spot && !caps.spot) throw missing("spot machines");
  if (spec.ports.length > 0 && !caps.ports) throw missing("exposed ports");
  if (spec.volumes.length > 0 && !caps.volumes) throw missing("volumes");
  if (spec.workers && !caps.workerGroups) throw missing("worker groups");
  for (const p of spec.ports) {
    if (p.port < 1 || p.port > 65_535) throw new PyfleetError("invalid_argument", `spec.ports: port ${p.port} is not between 1 and 65535`);
    if (p.protocol && p.protocol !== "http" && p.protocol !== "tcp") throw new PyfleetError("invalid_argument", `spec.ports: protocol "${p.protocol}" must be "http" or "tcp"`);
  }
}

/** The hourly price estimate of a spec (0 without a GPU). */
export function estimateCost(gpu: GpuType | undefined, spec: ComputeSpec): number {
  if (!gpu) return 0;
  return (spec.spot ? gpu.spotPricePerHour || gpu.pricePerHour : gpu.pricePerHour) * (spec.gpuCount || 1);
}
