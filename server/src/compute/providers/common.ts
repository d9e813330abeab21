import { type JsonValue, toJson } from "@bufbuild/protobuf";
import { type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import { type Machine, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import type { ListFilter } from "../provider.js";

/** Whether a machine passes a List filter. */
export function machineMatches(m: Machine, filter: ListFilter): boolean {
  if (!filter.includeTerminated && m.status === MachineStatus.TERMINATED) return false;
  return Object.entries(filter.labels ?? {}).every(([k, v]) => m.labels[k] === v);
}

export function toJsonValue(value: Value | undefined): JsonValue {
  return value ? toJson(ValueSchema, value) : null;
}
