import type { JsonValue, MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import {
  type Compute as ProtoCompute,
  type ComputeSpecSchema,
  ComputeStatus,
  type Job as ProtoJob,
  type ProviderInfo as ProtoProviderInfo,
} from "./gen/pyfleet/compute/v1/compute_pb.js";
import { GpuStock, type GpuType, JobStatus } from "./gen/pyfleet/provider/v1/types_pb.js";
import { valueToJson } from "./values.js";

// What the compute methods return, as plain data.

export type ComputeStatusName = "unspecified" | "pending" | "provisioning" | "running" | "ready" | "stopping" | "stopped" | "terminating" | "terminated" | "failed";
export type JobStatusName = "queued" | "running" | "completed" | "failed" | "cancelled" | "timed_out";

/** A compute as plain data. */
export interface ComputeInfo {
  id: string;
  provider: string;
  providerId: string;
  status: ComputeStatusName;
  statusMessage: string;
  gpuType: string;
  costPerHour: number;
  endpoints: { port: number; protocol: string; url: string; host: string; publicPort: number }[];
  owner: string;
  labels: Record<string, string>;
  workersAttached: number;
  createdAt: number | undefined;
  readyAt: number | undefined;
  idleExpiresAt: number | undefined;
}

export interface JobInfo {
  id: string;
  provider: string;
  endpoint: string;
  status: JobStatusName;
  output: JsonValue;
  error: string;
}

/** The spawn spec: the proto ComputeSpec, with `idleTtlMs` as a convenience for `idleTtl`. */
export type SpawnSpec = MessageInitShape<typeof ComputeSpecSchema> & { idleTtlMs?: number };

export const TERMINAL = new Set<ComputeStatusName>(["failed", "stopped", "terminated"]);

export function statusName(s: ComputeStatus): ComputeStatusName {
  return (ComputeStatus[s] ?? "UNSPECIFIED").toLowerCase() as ComputeStatusName;
}

function ms(t: Timestamp | undefined): number | undefined {
  return t ? timestampMs(t) : undefined;
}

export function computeFromProto(c: ProtoCompute): ComputeInfo {
  return {
    id: c.id,
    provider: c.provider,
    providerId: c.providerId,
    status: statusName(c.status),
    statusMessage: c.statusMessage,
    gpuType: c.gpuType,
    costPerHour: c.costPerHour,
    endpoints: c.endpoints.map((e) => ({ port: e.port, protocol: e.protocol, url: e.url, host: e.host, publicPort: e.publicPort })),
    owner: c.owner,
    labels: c.spec?.labels ?? {},
    workersAttached: c.workersAttached,
    createdAt: ms(c.createdAt),
    readyAt: ms(c.readyAt),
    idleExpiresAt: ms(c.idleExpiresAt),
  };
}

export function jobFromProto(j: ProtoJob): JobInfo {
  return {
    id: j.id,
    provider: j.provider,
    endpoint: j.endpoint,
    status: (JobStatus[j.status] ?? "UNSPECIFIED").toLowerCase() as JobStatusName,
    output: valueToJson(j.output),
    error: j.error,
  };
}

/** A configured provider and what it supports. */
export interface ProviderInfo {
  name: string;
  kind: string;
  isDefault: boolean;
  capabilities: { stopStart: boolean; spot: boolean; jobs: boolean; jobStreaming: boolean; ports: boolean; volumes: boolean; workerGroups: boolean; reset: boolean };
}

/** A GPU of a provider's catalog. */
export interface GpuInfo {
  alias: string;
  id: string;
  displayName: string;
  memoryGb: number;
  pricePerHour: number;
  spotPricePerHour: number;
  stock: "unspecified" | "none" | "low" | "medium" | "high";
}

export function providerFromProto(p: ProtoProviderInfo): ProviderInfo {
  const c = p.capabilities;
  return {
    name: p.name,
    kind: p.kind,
    isDefault: p.isDefault,
    capabilities: {
      stopStart: c?.stopStart ?? false,
      spot: c?.spot ?? false,
      jobs: c?.jobs ?? false,
      jobStreaming: c?.jobStreaming ?? false,
      ports: c?.ports ?? false,
      volumes: c?.volumes ?? false,
      workerGroups: c?.workerGroups ?? false,
      reset: c?.reset ?? false,
    },
  };
}

export function gpuFromProto(g: GpuType): GpuInfo {
  return {
    alias: g.alias,
    id: g.id,
    displayName: g.displayName,
    memoryGb: g.memoryGb,
    pricePerHour: g.pricePerHour,
    spotPricePerHour: g.spotPricePerHour,
    stock: (GpuStock[g.stock] ?? "UNSPECIFIED").toLowerCase() as GpuInfo["stock"],
  };
}
