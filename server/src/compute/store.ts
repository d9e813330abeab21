import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { fromBinary, fromJson, type JsonValue, toBinary, toJson } from "@bufbuild/protobuf";
import { type ComputeSpec, ComputeSpecSchema, ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { type Endpoint, EndpointSchema, JobStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import Database from "better-sqlite3";

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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS computes (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  provider TEXT NOT NULL,
  provider_id TEXT NOT NULL DEFAULT '',
  status INTEGER NOT NULL,
  status_message TEXT NOT NULL DEFAULT '',
  spec BLOB NOT NULL,
  gpu_type TEXT NOT NULL DEFAULT '',
  cost_per_hour REAL NOT NULL DEFAULT 0,
  endpoints TEXT NOT NULL DEFAULT '[]',
  client_request_id TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  ready_at INTEGER,
  last_active_at INTEGER NOT NULL,
  idle_ttl_ms INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS computes_request ON computes(owner, client_request_id) WHERE client_request_id <> '';
CREATE INDEX IF NOT EXISTS computes_status ON computes(status);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  provider TEXT NOT NULL,
  provider_job_id TEXT NOT NULL DEFAULT '',
  endpoint TEXT NOT NULL,
  status INTEGER NOT NULL,
  input TEXT NOT NULL DEFAULT 'null',
  output TEXT NOT NULL DEFAULT 'null',
  error TEXT NOT NULL DEFAULT '',
  client_request_id TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_request ON jobs(owner, client_request_id) WHERE client_request_id <> '';
`;

interface ComputeRow {
  id: string;
  owner: string;
  provider: string;
  provider_id: string;
  status: number;
  status_message: string;
  spec: Buffer;
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

interface JobRow {
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

function fromComputeRow(r: ComputeRow): ComputeRecord {
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
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    readyAt: r.ready_at ?? undefined,
    lastActiveAt: r.last_active_at,
    idleTtlMs: r.idle_ttl_ms,
  };
}

function toComputeRow(c: ComputeRecord): ComputeRow {
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

function fromJobRow(r: JobRow): JobRecord {
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
    createdAt: r.created_at,
    finishedAt: r.finished_at ?? undefined,
  };
}

/**
 * The durable record of every compute and job, in SQLite (WAL). Each write is
 * committed before the call returns, so a crash right after never loses it.
 */
export class ComputeStore {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(file: string) {
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
    const columns = "id, owner, provider, provider_id, status, status_message, spec, gpu_type, cost_per_hour, endpoints, client_request_id, created_at, updated_at, ready_at, last_active_at, idle_ttl_ms";
    this.statements = {
      insertCompute: this.db.prepare(`INSERT INTO computes (${columns}) VALUES (${columns.split(", ").map((c) => `@${c}`).join(", ")})`),
      updateCompute: this.db.prepare(`UPDATE computes SET ${columns.split(", ").slice(1).map((c) => `${c} = @${c}`).join(", ")} WHERE id = @id`),
      getCompute: this.db.prepare("SELECT * FROM computes WHERE id = ?"),
      byRequest: this.db.prepare("SELECT * FROM computes WHERE owner = ? AND client_request_id = ?"),
      allComputes: this.db.prepare("SELECT * FROM computes ORDER BY created_at DESC, id DESC"),
      liveComputes: this.db.prepare(`SELECT * FROM computes WHERE status NOT IN (${[...FINAL_STATUSES].join(", ")}) ORDER BY created_at`),
      insertJob: this.db.prepare("INSERT INTO jobs (id, owner, provider, provider_job_id, endpoint, status, input, output, error, client_request_id, created_at, finished_at) VALUES (@id, @owner, @provider, @provider_job_id, @endpoint, @status, @input, @output, @error, @client_request_id, @created_at, @finished_at)"),
      updateJob: this.db.prepare("UPDATE jobs SET provider_job_id = @provider_job_id, status = @status, output = @output, error = @error, finished_at = @finished_at WHERE id = @id"),
      getJob: this.db.prepare("SELECT * FROM jobs WHERE id = ?"),
      jobByRequest: this.db.prepare("SELECT * FROM jobs WHERE owner = ? AND client_request_id = ?"),
    };
  }

  insertCompute(c: ComputeRecord): void {
    this.statements.insertCompute.run(toComputeRow(c));
  }

  updateCompute(c: ComputeRecord): void {
    this.statements.updateCompute.run(toComputeRow(c));
  }

  getCompute(id: string): ComputeRecord | undefined {
    const row = this.statements.getCompute.get(id) as ComputeRow | undefined;
    return row && fromComputeRow(row);
  }

  computeByRequest(owner: string, clientRequestId: string): ComputeRecord | undefined {
    const row = this.statements.byRequest.get(owner, clientRequestId) as ComputeRow | undefined;
    return row && fromComputeRow(row);
  }

  /** Every compute, newest first. */
  allComputes(): ComputeRecord[] {
    return (this.statements.allComputes.all() as ComputeRow[]).map(fromComputeRow);
  }

  /** Computes not yet terminated or failed, oldest first. */
  liveComputes(): ComputeRecord[] {
    return (this.statements.liveComputes.all() as ComputeRow[]).map(fromComputeRow);
  }

  insertJob(j: JobRecord): void {
    this.statements.insertJob.run(this.jobRow(j));
  }

  updateJob(j: JobRecord): void {
    this.statements.updateJob.run(this.jobRow(j));
  }

  getJob(id: string): JobRecord | undefined {
    const row = this.statements.getJob.get(id) as JobRow | undefined;
    return row && fromJobRow(row);
  }

  jobByRequest(owner: string, clientRequestId: string): JobRecord | undefined {
    const row = this.statements.jobByRequest.get(owner, clientRequestId) as JobRow | undefined;
    return row && fromJobRow(row);
  }

  close(): void {
    this.db.close();
  }

  private jobRow(j: JobRecord): JobRow {
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
}

export { ComputeStatus, JobStatus };
