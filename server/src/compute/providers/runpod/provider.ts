import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { durationMs, timestampFromDate, timestampNow, ValueSchema } from "@bufbuild/protobuf/wkt";
import { type Capabilities, CapabilitiesSchema, CloudType, type GpuType, type Job, JobSchema, type JobSpec, JobStatus, type Machine, MachineSchema, type MachineSpec, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { PyfleetError } from "../../../errors.js";
import { gpuCatalog, resolveGpu } from "../../gpus.js";
import type { JobEvent, ListFilter, MachineLogLine, MachineLogOptions, Provider } from "../../provider.js";
import { machineMatches, toJsonValue } from "../common.js";
import { RunPodClient, type RunPodClientOptions } from "./client.js";

export interface RunPodProviderOptions extends RunPodClientOptions {
  name?: string;
  /** The public URL of an http port; {id} and {port} are replaced. */
  proxyUrl: string;
  /** Whether a running pod's ports must answer before it is ready. */
  probePorts: boolean;
  /** How often StreamJob polls a serverless job. */
  streamPollMs: number;
}

/** A pod as RunPod's REST API (v1) returns it; only the fields pyfleet reads. */
interface Pod {
  id: string;
  name?: string | null;
  image?: string | null;
  desiredStatus?: string | null;
  costPerHr?: number | string | null;
  gpu?: { id?: string; count?: number } | null;
  gpuCount?: number | null;
  interruptible?: boolean | null;
  env?: Record<string, string> | null;
  ports?: string[] | null;
  portMappings?: Record<string, number> | null;
  publicIp?: string | null;
  lastStartedAt?: string | null;
  machine?: { dataCenterId?: string | null; gpuTypeId?: string | null } | null;
}

/** RunPod's most lines of backfill. */
const RUNPOD_MAX_TAIL = 5000;
/** Without follow, the backfill is over once the stream has been quiet this long. */
const LOG_QUIET_MS = 1_000;

/** One event of the pod log stream, `{"source": "container", "line": "...", "ts": "..."}`; undefined when malformed. */
function podLogLine(data: string): MachineLogLine | undefined {
  try {
    const e = JSON.parse(data) as { source?: unknown; line?: unknown; ts?: unknown };
    if (typeof e.line !== "string") return undefined;
    const time = typeof e.ts === "string" ? Date.parse(e.ts) : NaN;
    return { text: e.line, source: typeof e.source === "string" ? e.source : "", time: Number.isNaN(time) ? undefined : time };
  } catch {
    return undefined;
  }
}

/** A serverless job status as RunPod returns it. */
interface ServerlessJob {
  id: string;
  status: string;
  output?: JsonValue;
  error?: string;
}

const LABELS_ENV = "PYFLEET_LABELS";
const REQUEST_LABEL = "pyfleet.request-id";
/** RunPod's cloudType for ours; none (UNSPECIFIED) lets RunPod choose. */
const CLOUD_TYPES: Partial<Record<CloudType, string>> = { [CloudType.SECURE]: "SECURE", [CloudType.COMMUNITY]: "COMMUNITY" };

const JOB_STATUS: Record<string, JobStatus> = {
  IN_QUEUE: JobStatus.QUEUED,
  IN_PROGRESS: JobStatus.RUNNING,
  COMPLETED: JobStatus.COMPLETED,
  FAILED: JobStatus.FAILED,
  CANCELLED: JobStatus.CANCELLED,
  TIMED_OUT: JobStatus.TIMED_OUT,
};

const FINISHED = new Set([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.TIMED_OUT]);

/** Terminated machines and job request ids remembered, at most (oldest forgotten first). */
const REMEMBERED = 10_000;

/** A Map that forgets its oldest entries beyond a size. */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.size > this.limit) super.delete(this.keys().next().value as K);
    return this;
  }
}

function quote(arg: string): string {
  return `'${arg.replace(/'/g, "'\\''")}'`;
}

/**
 * RunPod: pods through the REST API (create, get, list, stop, start,
 * delete) and serverless endpoints for jobs (run, status, cancel, stream).
 * pyfleet's labels travel in the pod's environment, so a pod can be found
 * again by its compute id after a crash.
 */
export class RunPodProvider implements Provider {
  readonly kind = "runpod";
  readonly name: string;
  readonly probesPorts: boolean;
  private readonly client: RunPodClient;
  private readonly catalog = gpuCatalog();
  /**
   * RunPod forgets a pod once it is deleted, but the contract keeps
   * terminated machines visible; so the provider remembers the ones it
   * terminated (the orchestrator's store keeps them durably).
   */
  private readonly terminated = new BoundedMap<string, Machine>(REMEMBERED);
  /** RunPod's serverless API has no idempotency keys: jobs by request id. */
  private readonly jobsByRequest = new BoundedMap<string, string>(REMEMBERED);

  constructor(private readonly options: RunPodProviderOptions) {
    this.name = options.name ?? "runpod";
    this.probesPorts = options.probePorts;
    this.client = new RunPodClient(options);
  }

  /**
   * The pod's log from the v2 API's stream (GET /pods/{id}/logs, Server-Sent
   * Events of `{source, line, ts}`): container and system lines. The stream
   * never says where its backfill ends, so without `follow` it is read until
   * a line stamped after the request or a quiet second, whichever comes first.
   */
  async *logs(id: string, options: MachineLogOptions): AsyncGenerator<MachineLogLine[]> {
    if (this.terminated.has(id)) throw new PyfleetError("failed_precondition", `pod "${id}" is terminated; RunPod keeps no log of a deleted pod`);
    if (options.tail === 0 && !options.follow) return;
    const asked = Date.now();
    const stop = new AbortController();
    const signal = AbortSignal.any([options.signal, stop.signal]);
    const events = this.client.events(`/pods/${encodeURIComponent(id)}/logs?tail=${Math.min(options.tail, RUNPOD_MAX_TAIL)}`, signal)[Symbol.asyncIterator]();
    try {
      for (;;) {
        let quiet: NodeJS.Timeout | undefined;
        const next = options.follow
          ? await events.next()
          : await Promise.race([events.next(), new Promise<IteratorResult<never>>((resolve) => {
            quiet = setTimeout(() => resolve({ done: true, value: undefined }), LOG_QUIET_MS);
          })]);
        clearTimeout(quiet);
        if (next.done) return;
        const line = podLogLine(next.value.data);
        if (!line) continue;
        if (!options.follow && line.time !== undefined && line.time >= asked) return;
        yield [line];
      }
    } finally {
      stop.abort();
      await events.return?.(undefined);
    }
  }

  async capabilities(): Promise<Capabilities> {
    return create(CapabilitiesSchema, { stopStart: true, spot: true, jobs: true, jobStreaming: true, ports: true, volumes: true, workerGroups: true, reset: false });
  }

  /** The pod create body for a spec; undefined fields are left out of the JSON. */
  private podBody(spec: MachineSpec, requestId: string): Record<string, unknown> {
    const gpu = resolveGpu(spec.gpu, this.catalog, this.name);
    const labels = { ...spec.labels, [REQUEST_LABEL]: requestId || undefined };
    const volume = spec.volumes.find((v) => v.id === "");
    const network = spec.volumes.find((v) => v.id !== "");
    const mounted = network ?? volume;
    const workers = spec.workers;
    let startCmd = spec.command;
    if (workers) {
      // The token goes in the pod's env (PYFLEET_WORKER_TOKEN), never in the start command RunPod's console shows.
      const worker = ["python", "-m", "pyfleet_bridge.worker", "--adapter", workers.adapter, "--connect", workers.serverUrl,
        "--pool", workers.pool].map(quote).join(" ");
      startCmd = ["sh", "-c", `for i in $(seq ${Math.max(1, workers.count || 1)}); do ${worker} & done; wait`];
    }
    return {
      name: spec.name || `pyfleet-${spec.labels["pyfleet.compute-id"] ?? requestId}`,
      imageName: spec.image,
      computeType: gpu ? "GPU" : "CPU",
      gpuTypeIds: gpu && [gpu.id],
      gpuCount: gpu ? spec.gpuCount || 1 : undefined,
      cloudType: CLOUD_TYPES[spec.cloudType],
      interruptible: spec.spot,
      ports: spec.ports.map((p) => `${p.port}/${p.protocol || "http"}`),
      env: { ...spec.env, [LABELS_ENV]: JSON.stringify(labels), PYFLEET_WORKER_TOKEN: workers?.token },
      containerDiskInGb: spec.containerDiskGb || undefined,
      volumeInGb: volume?.sizeGb,
      networkVolumeId: network?.id,
      volumeMountPath: mounted && (mounted.mountPath || "/workspace"),
      dataCenterIds: spec.regions.length > 0 ? spec.regions : undefined,
      dockerStartCmd: startCmd.length > 0 ? startCmd : undefined,
    };
  }

  async spawn(spec: MachineSpec, requestId: string): Promise<Machine> {
    if (!spec.image) throw new PyfleetError("invalid_argument", "spec.image is required by RunPod (the container image to run)");
    const body = this.podBody(spec, requestId);
    // RunPod has no idempotency keys, and a create whose answer was lost (a
    // 5xx or a timeout) may still have made a pod. So before every attempt,
    // look for the pod by its request id; post only when there is none.
    for (let attempt = 0; ; attempt++) {
      if (requestId) {
        const existing = (await this.list({ labels: { [REQUEST_LABEL]: requestId } }))[0];
        if (existing) return existing;
      }
      try {
        return this.toMachine(await this.client.rest<Pod>("POST", "/pods", body, 0));
      } catch (e) {
        const retryable = e instanceof PyfleetError && e.code === "unavailable";
        if (!retryable || attempt >= this.client.retries) throw e;
      }
      await new Promise((resolve) => setTimeout(resolve, this.client.backoffMs(attempt + 1)));
    }
  }

  async get(id: string): Promise<Machine> {
    const gone = this.terminated.get(id);
    if (gone) return gone;
    return this.toMachine(await this.client.rest<Pod>("GET", `/pods/${encodeURIComponent(id)}`));
  }

  async list(filter: ListFilter = {}): Promise<Machine[]> {
    const pods = await this.client.rest<Pod[]>("GET", "/pods");
    const machines = (pods ?? []).map((p) => this.toMachine(p)).filter((m) => !this.terminated.has(m.id));
    if (filter.includeTerminated) machines.push(...this.terminated.values());
    return machines.filter((m) => machineMatches(m, filter));
  }

  async stop(id: string): Promise<Machine> {
    this.refuseTerminated(id, "stop");
    await this.client.rest("POST", `/pods/${encodeURIComponent(id)}/stop`);
    return this.get(id);
  }

  async start(id: string): Promise<Machine> {
    this.refuseTerminated(id, "start");
    await this.client.rest("POST", `/pods/${encodeURIComponent(id)}/start`);
    return this.get(id);
  }

  async terminate(id: string): Promise<Machine> {
    const gone = this.terminated.get(id);
    if (gone) return gone;
    const before = await this.get(id);
    await this.client.rest("DELETE", `/pods/${encodeURIComponent(id)}`);
    const machine = create(MachineSchema, { ...before, status: MachineStatus.TERMINATED });
    this.terminated.set(id, machine);
    return machine;
  }

  private refuseTerminated(id: string, action: string) {
    if (this.terminated.has(id)) throw new PyfleetError("failed_precondition", `machine "${id}" is terminated and cannot ${action}`);
  }

  async gpuTypes(): Promise<GpuType[]> {
    return this.catalog;
  }

  async runJob(spec: JobSpec): Promise<Job> {
    if (!spec.endpoint) throw new PyfleetError("invalid_argument", "spec.endpoint is required: the serverless endpoint id");
    const body = {
      input: toJsonValue(spec.input) ?? {},
      policy: spec.timeout && { executionTimeout: durationMs(spec.timeout) },
    };
    const earlier = spec.requestId ? this.jobsByRequest.get(spec.requestId) : undefined;
    if (earlier) return this.getJob(earlier);
    const res = await this.client.serverless<ServerlessJob>("POST", `/${encodeURIComponent(spec.endpoint)}/run`, body);
    const job = this.toJob(spec.endpoint, res, spec.input ? toJsonValue(spec.input) : null);
    if (spec.requestId) this.jobsByRequest.set(spec.requestId, job.id);
    return job;
  }

  async getJob(id: string): Promise<Job> {
    const [endpoint, jobId] = this.splitJobId(id);
    return this.toJob(endpoint, await this.client.serverless<ServerlessJob>("GET", `/${encodeURIComponent(endpoint)}/status/${encodeURIComponent(jobId)}`));
  }

  async cancelJob(id: string): Promise<Job> {
    const [endpoint, jobId] = this.splitJobId(id);
    const job = await this.getJob(id);
    if (FINISHED.has(job.status)) return job;
    return this.toJob(endpoint, await this.client.serverless<ServerlessJob>("POST", `/${encodeURIComponent(endpoint)}/cancel/${encodeURIComponent(jobId)}`));
  }

  async *streamJob(id: string, signal: AbortSignal): AsyncGenerator<JobEvent> {
    const [endpoint, jobId] = this.splitJobId(id);
    while (!signal.aborted) {
      const res = await this.client.serverless<ServerlessJob & { stream?: { output: JsonValue }[] }>(
        "GET", `/${encodeURIComponent(endpoint)}/stream/${encodeURIComponent(jobId)}`);
      for (const part of res.stream ?? []) yield { output: part.output };
      const status = JOB_STATUS[res.status] ?? JobStatus.UNSPECIFIED;
      if (FINISHED.has(status)) {
        yield { job: await this.getJob(id) };
        return;
      }
      // RunPod's stream endpoint is polled; time is the subject here.
      await new Promise((resolve) => setTimeout(resolve, this.options.streamPollMs));
    }
  }

  async reset(): Promise<void> {
    throw new PyfleetError("unimplemented", `provider "${this.name}" is a real cloud and has no reset`);
  }

  private splitJobId(id: string): [string, string] {
    const at = id.indexOf(":");
    if (at <= 0) throw new PyfleetError("not_found", `no RunPod job "${id}" (job ids look like "ENDPOINT:ID")`);
    return [id.slice(0, at), id.slice(at + 1)];
  }

  private toJob(endpoint: string, res: ServerlessJob, input?: JsonValue): Job {
    const status = JOB_STATUS[res.status] ?? JobStatus.UNSPECIFIED;
    return create(JobSchema, {
      id: `${endpoint}:${res.id}`,
      endpoint,
      status,
      input: input == null ? undefined : fromJson(ValueSchema, input),
      output: res.output === undefined ? undefined : fromJson(ValueSchema, res.output),
      error: typeof res.error === "string" ? res.error : res.error ? JSON.stringify(res.error) : "",
      finishedAt: FINISHED.has(status) ? timestampNow() : undefined,
    });
  }

  private toMachine(pod: Pod): Machine {
    if (!pod || typeof pod.id !== "string") {
      throw new PyfleetError("unavailable", "RunPod answered with a pod that has no id; retry later");
    }
    let labels: Record<string, string> = {};
    try {
      const parsed = JSON.parse(pod.env?.[LABELS_ENV] ?? "{}") as unknown;
      if (parsed && typeof parsed === "object") labels = parsed as Record<string, string>;
    } catch {
      labels = {};
    }
    const desired = pod.desiredStatus ?? "";
    const started = Boolean(pod.publicIp || pod.lastStartedAt || Object.keys(pod.portMappings ?? {}).length > 0);
    const status = desired === "RUNNING" ? (started ? MachineStatus.RUNNING : MachineStatus.PROVISIONING)
      : desired === "EXITED" ? MachineStatus.STOPPED
      : desired === "TERMINATED" ? MachineStatus.TERMINATED
      : MachineStatus.PROVISIONING;
    return create(MachineSchema, {
      id: pod.id,
      status,
      name: pod.name ?? "",
      gpuType: pod.gpu?.id ?? pod.machine?.gpuTypeId ?? "",
      gpuCount: pod.gpu?.count ?? pod.gpuCount ?? 0,
      costPerHour: Number(pod.costPerHr ?? 0) || 0,
      endpoints: (pod.ports ?? []).map((entry) => {
        const [port = "0", protocol = "http"] = entry.split("/");
        const mapped = pod.portMappings?.[port];
        return {
          port: Number(port),
          protocol,
          url: protocol === "http" ? this.options.proxyUrl.replace("{id}", pod.id).replace("{port}", port) : "",
          host: protocol === "tcp" ? pod.publicIp ?? "" : "",
          publicPort: protocol === "tcp" ? mapped ?? 0 : 0,
        };
      }),
      labels,
      createdAt: pod.lastStartedAt ? timestampFromDate(new Date(pod.lastStartedAt)) : undefined,
      region: pod.machine?.dataCenterId ?? "",
      spot: pod.interruptible ?? false,
      image: pod.image ?? "",
    });
  }
}
