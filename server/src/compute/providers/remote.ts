import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { type Capabilities, type GpuType, type Job, type JobSpec, type Machine, type MachineSpec } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { ProviderService } from "@pyfleet/protocol/gen/pyfleet/provider/v1/provider_pb";
import { PyfleetError } from "../../errors.js";
import type { JobEvent, ListFilter, Provider } from "../provider.js";
import { toJsonValue } from "./common.js";

export interface RemoteProviderOptions {
  name: string;
  /** The ProviderService endpoint, e.g. "https://provider.example.com". */
  url: string;
  /** Sent as `Authorization: Bearer <key>` when set. */
  apiKey?: string;
  timeoutMs: number;
  probePorts: boolean;
}

/** The provider's failure with its code, the message saying which provider call failed. */
function toPyfleetError(e: unknown, what: string): PyfleetError {
  const err = PyfleetError.from(e);
  return new PyfleetError(err.code, `${what}: ${err.message}`, undefined, { cause: e });
}

/** Any endpoint that implements pyfleet.provider.v1.ProviderService, over gRPC. */
export class RemoteProvider implements Provider {
  readonly kind = "remote";
  readonly name: string;
  readonly probesPorts: boolean;
  private readonly client: Client<typeof ProviderService>;

  constructor(private readonly options: RemoteProviderOptions) {
    this.name = options.name;
    this.probesPorts = options.probePorts;
    this.client = createClient(ProviderService, createGrpcTransport({
      baseUrl: options.url,
      interceptors: options.apiKey ? [(next) => (req) => {
        req.header.set("authorization", `Bearer ${options.apiKey}`);
        return next(req);
      }] : [],
    }));
  }

  private async call<T>(what: string, fn: (opts: { timeoutMs: number }) => Promise<T>): Promise<T> {
    try {
      return await fn({ timeoutMs: this.options.timeoutMs });
    } catch (e) {
      throw toPyfleetError(e, `provider "${this.name}" ${what}`);
    }
  }

  async capabilities(): Promise<Capabilities> {
    return (await this.call("GetCapabilities", (o) => this.client.getCapabilities({}, o))).capabilities!;
  }

  async spawn(spec: MachineSpec, requestId: string): Promise<Machine> {
    return (await this.call("Spawn", (o) => this.client.spawn({ spec, requestId }, o))).machine!;
  }

  async get(id: string): Promise<Machine> {
    return (await this.call("Get", (o) => this.client.get({ id }, o))).machine!;
  }

  async list(filter: ListFilter = {}): Promise<Machine[]> {
    return (await this.call("List", (o) => this.client.list({ labels: filter.labels ?? {}, includeTerminated: filter.includeTerminated ?? false }, o))).machines;
  }

  async stop(id: string): Promise<Machine> {
    return (await this.call("Stop", (o) => this.client.stop({ id }, o))).machine!;
  }

  async start(id: string): Promise<Machine> {
    return (await this.call("Start", (o) => this.client.start({ id }, o))).machine!;
  }

  async terminate(id: string): Promise<Machine> {
    return (await this.call("Terminate", (o) => this.client.terminate({ id }, o))).machine!;
  }

  async gpuTypes(): Promise<GpuType[]> {
    return (await this.call("ListGpuTypes", (o) => this.client.listGpuTypes({}, o))).gpuTypes;
  }

  async runJob(spec: JobSpec): Promise<Job> {
    return (await this.call("RunJob", (o) => this.client.runJob({ spec }, o))).job!;
  }

  async getJob(id: string): Promise<Job> {
    return (await this.call("GetJob", (o) => this.client.getJob({ id }, o))).job!;
  }

  async cancelJob(id: string): Promise<Job> {
    return (await this.call("CancelJob", (o) => this.client.cancelJob({ id }, o))).job!;
  }

  async *streamJob(id: string, signal: AbortSignal): AsyncGenerator<JobEvent> {
    try {
      for await (const res of this.client.streamJob({ id }, { signal })) {
        if (res.event.case === "output") yield { output: toJsonValue(res.event.value) };
        else if (res.event.case === "job") yield { job: res.event.value };
      }
    } catch (e) {
      throw toPyfleetError(e, `provider "${this.name}" StreamJob`);
    }
  }

  async reset(): Promise<void> {
    await this.call("Reset", (o) => this.client.reset({}, o));
  }
}
