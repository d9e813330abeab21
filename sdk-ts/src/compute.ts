import type { JsonValue } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import type { ComputeService } from "./gen/pyfleet/compute/v1/compute_pb.js";
import {
  type ComputeInfo,
  computeFromProto,
  type ComputeStatusName,
  type GpuInfo,
  gpuFromProto,
  type JobInfo,
  jobFromProto,
  type ProviderInfo,
  providerFromProto,
  type SpawnSpec,
  statusName,
  TERMINAL,
} from "./compute-info.js";
import { PyfleetError, stoppedByCaller } from "./errors.js";
import { type ComputeLogLine, watchComputeLogs } from "./logs.js";
import { jsonToValue, valueToJson } from "./values.js";

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
      { id: this.id, timeout: options.timeoutMs !== undefined ? durationFromMs(options.timeoutMs) : undefined },
      // The server ends the wait at `timeout`; the RPC's own deadline is a little later.
      { signal: options.signal, timeoutMs: options.timeoutMs !== undefined ? options.timeoutMs + 1_000 : undefined },
    );
    for await (const res of stream) {
      this.info = computeFromProto(res.compute!);
      options.onStatus?.(this.info);
      if (this.info.status === "ready") return this.info;
      if (TERMINAL.has(this.info.status)) break;
    }
    throw new PyfleetError("failed_precondition", `compute ${this.id} is ${this.info.status} and will not become ready${this.info.statusMessage ? `: ${this.info.statusMessage}` : ""}`);
  }

  /**
   * The machine's log (Kubernetes and RunPod): the newest `tail` lines
   * (default 100), then with `follow` new ones until the log ends or `signal`
   * aborts. Rejects with unimplemented for providers that keep no logs.
   */
  logs(options: { follow?: boolean; tail?: number; signal?: AbortSignal } = {}): AsyncGenerator<ComputeLogLine> {
    return watchComputeLogs(this.rpc, this.id, options);
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
    const res = await this.rpc.spawnCompute({ spec: idleTtlMs !== undefined ? { ...rest, idleTtl: durationFromMs(idleTtlMs) } : rest });
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
        { signal: options.signal },
      );
      for await (const e of stream) yield { compute: computeFromProto(e.compute!), previous: statusName(e.previousStatus) };
    } catch (e) {
      if (!stoppedByCaller(e, options.signal)) throw e;
    }
  }

  /** The configured providers and what they support. */
  async providers(): Promise<ProviderInfo[]> {
    return (await this.rpc.listProviders({})).providers.map(providerFromProto);
  }

  /** A provider's GPU catalog ("" = the default provider). */
  async gpuTypes(provider = ""): Promise<GpuInfo[]> {
    return (await this.rpc.listGpuTypes({ provider })).gpuTypes.map(gpuFromProto);
  }

  readonly jobs = {
    run: async (endpoint: string, input: JsonValue, options: { provider?: string; timeoutMs?: number; clientRequestId?: string } = {}): Promise<JobInfo> =>
      jobFromProto((await this.rpc.runJob({
        endpoint,
        input: jsonToValue(input),
        provider: options.provider ?? "",
        clientRequestId: options.clientRequestId ?? "",
        timeout: options.timeoutMs !== undefined ? durationFromMs(options.timeoutMs) : undefined,
      })).job!),
    get: async (id: string): Promise<JobInfo> => jobFromProto((await this.rpc.getJob({ id })).job!),
    cancel: async (id: string): Promise<JobInfo> => jobFromProto((await this.rpc.cancelJob({ id })).job!),
    /** Partial outputs as they come; the final job is the return value. */
    stream: async function* (this: ComputeClient, id: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<JsonValue, JobInfo | undefined> {
      for await (const e of this.rpc.streamJob({ id }, { signal: options.signal })) {
        if (e.event.case === "output") yield valueToJson(e.event.value);
        else if (e.event.case === "job") return jobFromProto(e.event.value);
      }
      return undefined;
    }.bind(this),
  };
}
