import type { JsonValue, MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import {
  type Compute as ProtoCompute,
  type ComputeService,
  type ComputeSpecSchema,
  ComputeStatus,
  type Job as ProtoJob,
  type ProviderInfo,
} from "./gen/pyfleet/compute/v1/compute_pb.js";
import { type GpuType, JobStatus } from "./gen/pyfleet/provider/v1/types_pb.js";
import { PyfleetError, stoppedByCaller } from "./errors.js";
import { jsonToValue, valueToJson } from "./values.js";

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

const TERMINAL = new Set<ComputeStatusName>(["failed", "stopped", "terminated"]);

function statusName(s: ComputeStatus): ComputeStatusName {
  return (ComputeStatus[s] ?? "UNSPECIFIED").toLowerCase() as ComputeStatusName;
}

function ms(t: { seconds: bigint; nanos: number } | undefined): number | undefined {
  return t ? timestampMs(t as never) : undefined;
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

function jobFromProto(j: ProtoJob): JobInfo {
  return {
    id: j.id,
    provider: j.provider,
    endpoint: j.endpoint,
    status: (JobStatus[j.status] ?? "UNSPECIFIED").toLowerCase() as JobStatusName,
    output: valueToJson(j.output),
    error: j.error,
  };
}

/** One compute: wait for it, touch it, stop, start or terminate it. */
export class ComputeHandle {
  constructor(
    private readonly rpc: Client<typeof ComputeService>,
    public info: ComputeInfo,
  ) {}

  get id(): string {
    return this.info.id;
  }

  async refresh(): Promise<ComputeInfo> {
    this.info = computeFromProto((await this.rpc.getCompute({ id: this.id })).compute!);
    return this.info;
  }

  /**
   * Resolves when the compute is READY (running, ports answering or workers
   * attached); `onStatus` sees every status on the way. Rejects with
   * failed_precondition if it fails, stops or is terminated first.
   */
  async waitUntilReady(options: { onStatus?: (c: ComputeInfo) => void; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ComputeInfo> {
    const stream = this.rpc.waitCompute(
      { id: this.id, ...(options.timeoutMs !== undefined ? { timeout: durationFromMs(options.timeoutMs) } : {}) },
      { ...(options.signal ? { signal: options.signal } : {}), ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs + 1_000 } : {}) },
    );
    for await (const res of stream) {
      this.info = computeFromProto(res.compute!);
      options.onStatus?.(this.info);
      if (this.info.status === "ready") return this.info;
      if (TERMINAL.has(this.info.status)) break;
    }
    throw new PyfleetError("failed_precondition", `compute ${this.id} is ${this.info.status} and will not become ready${this.info.statusMessage ? `: ${this.info.statusMessage}` : ""}`);
  }

  async touch(): Promise<ComputeInfo> {
    this.info = computeFromProto((await this.rpc.touchCompute({ id: this.id })).compute!);
    return this.info;
  }

  async stop(): Promise<ComputeInfo> {
    this.info = computeFromProto((await this.rpc.stopCompute({ id: this.id })).compute!);
    return this.info;
  }

  async start(): Promise<ComputeInfo> {
    this.info = computeFromProto((await this.rpc.startCompute({ id: this.id })).compute!);
    return this.info;
  }

  async terminate(): Promise<ComputeInfo> {
    this.info = computeFromProto((await this.rpc.terminateCompute({ id: this.id })).compute!);
    return this.info;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.terminate().then(() => undefined);
  }
}

/** Machines on providers, and serverless jobs. */
export class ComputeClient {
  constructor(private readonly rpc: Client<typeof ComputeService>) {}

  /** Spawns a compute; pass `clientRequestId` to make retries safe. */
  async spawn(spec: SpawnSpec): Promise<ComputeHandle> {
    const { idleTtlMs, ...rest } = spec;
    const res = await this.rpc.spawnCompute({ spec: { ...rest, ...(idleTtlMs !== undefined ? { idleTtl: durationFromMs(idleTtlMs) } : {}) } });
    return new ComputeHandle(this.rpc, computeFromProto(res.compute!));
  }

  async get(id: string): Promise<ComputeHandle> {
    return new ComputeHandle(this.rpc, computeFromProto((await this.rpc.getCompute({ id })).compute!));
  }

  async list(filter: { provider?: string; labels?: Record<string, string> } = {}): Promise<ComputeInfo[]> {
    const out: ComputeInfo[] = [];
    let pageToken = "";
    do {
      const res = await this.rpc.listComputes({ provider: filter.provider ?? "", labels: filter.labels ?? {}, pageToken });
      out.push(...res.computes.map(computeFromProto));
      pageToken = res.nextPageToken;
    } while (pageToken);
    return out;
  }

  /** Every status change of your computes until `signal` aborts. */
  async *watch(options: { provider?: string; labels?: Record<string, string>; includeInitial?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<{ compute: ComputeInfo; previous: ComputeStatusName }> {
    try {
      const stream = this.rpc.watchComputes(
        { provider: options.provider ?? "", labels: options.labels ?? {}, includeInitial: options.includeInitial ?? false },
        options.signal ? { signal: options.signal } : {},
      );
      for await (const e of stream) yield { compute: computeFromProto(e.compute!), previous: statusName(e.previousStatus) };
    } catch (e) {
      if (!stoppedByCaller(e, options.signal)) throw e;
    }
  }

  async providers(): Promise<ProviderInfo[]> {
    return (await this.rpc.listProviders({})).providers;
  }

  async gpuTypes(provider = ""): Promise<GpuType[]> {
    return (await this.rpc.listGpuTypes({ provider })).gpuTypes;
  }

  readonly jobs = {
    run: async (endpoint: string, input: JsonValue, options: { provider?: string; timeoutMs?: number; clientRequestId?: string } = {}): Promise<JobInfo> =>
      jobFromProto((await this.rpc.runJob({
        endpoint,
        input: jsonToValue(input),
        provider: options.provider ?? "",
        clientRequestId: options.clientRequestId ?? "",
        ...(options.timeoutMs !== undefined ? { timeout: durationFromMs(options.timeoutMs) } : {}),
      })).job!),
    get: async (id: string): Promise<JobInfo> => jobFromProto((await this.rpc.getJob({ id })).job!),
    cancel: async (id: string): Promise<JobInfo> => jobFromProto((await this.rpc.cancelJob({ id })).job!),
    /** Partial outputs as they come; the final job is the return value. */
    stream: async function* (this: ComputeClient, id: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<JsonValue, JobInfo | undefined> {
      for await (const e of this.rpc.streamJob({ id }, options.signal ? { signal: options.signal } : {})) {
        if (e.event.case === "output") yield valueToJson(e.event.value);
        else if (e.event.case === "job") return jobFromProto(e.event.value);
      }
      return undefined;
    }.bind(this),
  };
}
