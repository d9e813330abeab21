import { fromBinary, fromJson, type JsonValue, toBinary, toJson } from "@bufbuild/protobuf";
import { type ComputeSpec, ComputeSpecSchema, ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { type Endpoint, EndpointSchema, JobStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";

/** A compute as recorded. Times are milliseconds since the epoch. */
export interface ComputeRecord {
  id: string;
  owner: string;
  provider: string;
  providerId: string;
  status: ComputeStatus;
  statusMessage: string;
  spec: ComputeSpec;
  gpuType: string;
  costPerHour: number;
  endpoints: Endpoint[];
  clientRequestId: string;
  createdAt: number;
  updatedAt: number;
  readyAt: number | undefined;
  lastActiveAt: number;
  idleTtlMs: number;
}

export interface JobRecord {
  id: string;
  owner: string;
  provider: string;
  providerJobId: string;
  endpoint: string;
  status: JobStatus;
  input: JsonValue;
  output: JsonValue;
  error: string;
  clientRequestId: string;
  createdAt: number;
  finishedAt: number | undefined;
}

/** Statuses a compute never leaves. */
export const FINAL_STATUSES = new Set([ComputeStatus.TERMINATED, ComputeStatus.FAILED]);

/** A compute's row, the same in both backends (Postgres hands BIGINT back as numbers by our type parser). */
export interface ComputeRow {
  id: string;
  owner: string;
  provider: string;
  provider_id: string;
  status: number;
  status_message: string;
  spec: Uint8Array;
  gpu_type: string;
  cost_per_hour: number;
  endpoints: string;
  client_request_id: string;
  created_at: number;
  updated_at: number;
  ready_at: number | null;
  last_active_at: number;
  idle_ttl_ms: number;
}

export interface JobRow {
  id: string;
  owner: string;
  provider: string;
  provider_job_id: string;
  endpoint: string;
  status: number;
  input: string;
  output: string;
  error: string;
  client_request_id: string;
  created_at: number;
  finished_at: number | null;
}

/** Column order of both tables, used to build the statements of both backends. */
export const COMPUTE_COLUMNS = ["id", "owner", "provider", "provider_id", "status", "status_message", "spec", "gpu_type", "cost_per_hour", "endpoints",
  "client_request_id", "created_at", "updated_at", "ready_at", "last_active_at", "idle_ttl_ms"] as const satisfies readonly (keyof ComputeRow)[];
export const JOB_COLUMNS = ["id", "owner", "provider", "provider_job_id", "endpoint", "status", "input", "output", "error", "client_request_id",
  "created_at", "finished_at"] as const satisfies readonly (keyof JobRow)[];
/** What a job update may change. */
export const JOB_UPDATE_COLUMNS = ["provider_job_id", "status", "output", "error", "finished_at"] as const satisfies readonly (keyof JobRow)[];

export function fromComputeRow(r: ComputeRow): ComputeRecord {
  return {
    id: r.id,
    owner: r.owner,
    provider: r.provider,
    providerId: r.provider_id,
    status: r.status,
    statusMessage: r.status_message,
    spec: fromBinary(ComputeSpecSchema, r.spec),
    gpuType: r.gpu_type,
    costPerHour: r.cost_per_hour,
    endpoints: (JSON.parse(r.endpoints) as JsonValue[]).map((e) => fromJson(EndpointSchema, e)),
    clientRequestId: r.client_request_id,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    readyAt: r.ready_at === null ? undefined : Number(r.ready_at),
    lastActiveAt: Number(r.last_active_at),
    idleTtlMs: Number(r.idle_ttl_ms),
  };
}

export function toComputeRow(c: ComputeRecord): ComputeRow {
  return {
    id: c.id,
    owner: c.owner,
    provider: c.provider,
    provider_id: c.providerId,
    status: c.status,
    status_message: c.statusMessage,
    spec: Buffer.from(toBinary(ComputeSpecSchema, c.spec)),
    gpu_type: c.gpuType,
    cost_per_hour: c.costPerHour,
    endpoints: JSON.stringify(c.endpoints.map((e) => toJson(EndpointSchema, e))),
    client_request_id: c.clientRequestId,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    ready_at: c.readyAt ?? null,
    last_active_at: c.lastActiveAt,
    idle_ttl_ms: c.idleTtlMs,
  };
}

export function fromJobRow(r: JobRow): JobRecord {
  return {
    id: r.id,
    owner: r.owner,
    provider: r.provider,
    providerJobId: r.provider_job_id,
    endpoint: r.endpoint,
    status: r.status,
    input: JSON.parse(r.input) as JsonValue,
    output: JSON.parse(r.output) as JsonValue,
    error: r.error,
    clientRequestId: r.client_request_id,
    createdAt: Number(r.created_at),
    finishedAt: r.finished_at === null ? undefined : Number(r.finished_at),
  };
}

export function toJobRow(j: JobRecord): JobRow {
  return {
    id: j.id,
    owner: j.owner,
    provider: j.provider,
    provider_job_id: j.providerJobId,
    endpoint: j.endpoint,
    status: j.status,
    input: JSON.stringify(j.input ?? null),
    output: JSON.stringify(j.output ?? null),
    error: j.error,
    client_request_id: j.clientRequestId,
    created_at: j.createdAt,
    finished_at: j.finishedAt ?? null,
  };
}

export { ComputeStatus, JobStatus };
