// Over 400 lines on purpose: machines, worker groups and jobs share this
// provider's two watch caches (pods, jobs), its object naming and its
// ownership checks (mine, readPod/readJob); the parts that need none of that
// state live beside it (objects.ts, status.ts, watch.ts, logs.ts, client.ts).
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import { create, type JsonValue } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { Log, type V1Deployment, type V1Job, type V1Pod } from "@kubernetes/client-node";
import {
  type Capabilities, CapabilitiesSchema, type GpuType, type Job, type JobSpec, JobStatus, type Machine, MachineSchema, type MachineSpec,
  MachineStatus,
} from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { PyfleetError } from "../../../errors.js";
import type { Logger } from "../../../log/index.js";
import { gpuCatalog, resolveGpu } from "../../gpus.js";
import type { JobEvent, ListFilter, MachineLogLine, MachineLogOptions, Provider } from "../../provider.js";
import { machineMatches, toJsonValue } from "../common.js";
import { KubeClient, loadKubeConfig, type Op } from "./client.js";
import {
  CANCELLED_ANNOTATION, CONTAINER, type JobTemplate, jobObject, MACHINE_LABEL, machineObjects, objectName, ownedBy, type PlacementConfig, PROVIDER_LABEL,
  ROLE_LABEL, workerGroupObjects,
} from "./objects.js";
import { mergeLogs, podLog } from "./logs.js";
import { deploymentMachine, jobOf, podMachine } from "./status.js";
import { WatchCache } from "./watch.js";

/** The placement settings of PlacementConfig, plus how to reach the cluster and run jobs. */
export interface KubernetesProviderOptions extends Omit<PlacementConfig, "provider" | "namespace"> {
  name?: string;
  kubeconfig?: string | undefined;
  context?: string | undefined;
  namespace?: string | undefined;
  jobs: Record<string, JobTemplate>;
  jobTtlSeconds: number;
  probePorts: boolean;
  retries: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

const FINISHED = new Set([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.TIMED_OUT]);
/** Terminated machines remembered, at most (the orchestrator's store keeps them durably). */
const REMEMBERED = 10_000;
const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";

/**
 * Kubernetes: a compute is a Pod (plus a Service for its ports and PVCs for
 * new volumes), a worker group a Deployment of dial-in workers with their
 * token in a Secret, a RunJob a batch/v1 Job. The state of pods and jobs
 * comes from watches (see WatchCache), not from polling the API server.
 *
 * Stop/Start are UNIMPLEMENTED: a pod cannot be paused and resumed, and
 * faking it (delete, then re-create) would lose the container's state and
 * its IP while claiming to keep them. Terminate and spawn again instead.
 */
export class KubernetesProvider implements Provider {
  readonly kind = "kubernetes";
  readonly name: string;
  readonly probesPorts: boolean;
  readonly namespace: string;
  readonly client: KubeClient;
  private readonly cfg: PlacementConfig & { jobTtlSeconds: number };
  private readonly catalog = gpuCatalog().map((g) => ({ ...g, pricePerHour: 0, spotPricePerHour: 0 }) as GpuType);
  private readonly pods: WatchCache<V1Pod>;
  private readonly jobs: WatchCache<V1Job>;
  private readonly terminated = new Map<string, Machine>();
  private readonly outputs = new Map<string, JsonValue | undefined>();
  private readonly events = new EventEmitter();
  private readonly logger: Logger;

  constructor(private readonly options: KubernetesProviderOptions) {
    this.name = options.name ?? "kubernetes";
    this.probesPorts = options.probePorts;
    this.logger = options.logger;
    const { kc, namespace } = loadKubeConfig(options, options.env);
    this.namespace = namespace;
    this.client = new KubeClient(kc, namespace, options);
    this.cfg = {
      provider: this.name, namespace, gpuResource: options.gpuResource, gpuProductLabel: options.gpuProductLabel,
      gpuProducts: options.gpuProducts, nodeSelector: options.nodeSelector, tolerations: options.tolerations, spot: options.spot,
      storageClass: options.storageClass, workerImage: options.workerImage, serverUrl: options.serverUrl, jobTtlSeconds: options.jobTtlSeconds,
    };
    const selector = `${PROVIDER_LABEL}=${this.name}`;
    const watchOptions = { kc, labelSelector: selector, logger: this.logger, minBackoffMs: Math.max(50, options.minBackoffMs), maxBackoffMs: Math.max(100, options.maxBackoffMs) };
    this.pods = new WatchCache<V1Pod>({
      ...watchOptions,
      path: `/api/v1/namespaces/${namespace}/pods`,
      list: async () => {
        const r = await this.client.core.listNamespacedPod({ namespace, labelSelector: selector });
        return { items: r.items, resourceVersion: r.metadata?.resourceVersion ?? "" };
      },
    });
    this.jobs = new WatchCache<V1Job>({
      ...watchOptions,
      path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
      list: async () => {
        const r = await this.client.batch.listNamespacedJob({ namespace, labelSelector: selector });
        return { items: r.items, resourceVersion: r.metadata?.resourceVersion ?? "" };
      },
    });
    this.pods.onChange((type, pod) => this.podChanged(type, pod));
    this.jobs.onChange((_type, job) => this.events.emit("job", job));
    this.events.setMaxListeners(0);
    // Reconcile at start: the first list fills the caches; the orchestrator's reaper then lists them.
    void this.pods.start();
    void this.jobs.start();
  }

  /** Resolves once the first lists of pods and jobs are in (the watches run from there). */
  async ready(): Promise<void> {
    await Promise.all([this.pods.ready(), this.jobs.ready()]);
  }

  /** Calls `listener` with a compute's machine whenever its pod changes, deletion included. */
  onMachine(listener: (machine: Machine) => void): () => void {
    this.events.on("machine", listener);
    return () => this.events.off("machine", listener);
  }

  async capabilities(): Promise<Capabilities> {
    const jobs = Object.keys(this.options.jobs).length > 0;
    return create(CapabilitiesSchema, {
      stopStart: false, spot: Boolean(this.options.spot), jobs, jobStreaming: jobs, ports: true, volumes: true, workerGroups: true, reset: false,
    });
  }

  async spawn(spec: MachineSpec, requestId: string): Promise<Machine> {
    if (!spec.image && !spec.workers) throw new PyfleetError("invalid_argument", "spec.image is required by Kubernetes (the container image to run)");
    if (spec.spot && !this.options.spot) {
      throw new PyfleetError("invalid_argument", `provider "${this.name}" has no spot placement configured (set compute.providers[].spot.nodeSelector or .tolerations)`);
    }
    const gpu = resolveGpu(spec.gpu, this.catalog, this.name);
    return spec.workers ? this.spawnWorkers(spec, requestId, gpu) : this.spawnPod(spec, requestId, gpu);
  }

  private async spawnPod(spec: MachineSpec, requestId: string, gpu: GpuType | undefined): Promise<Machine> {
    const { pod, service, claims } = machineObjects(this.cfg, spec, requestId, gpu);
    const name = pod.metadata!.name!;
    // The name comes from the request id, so a retried spawn meets AlreadyExists and returns the first pod.
    const created = await this.createOrGet(this.op("create", "pods", name),
      () => this.client.core.createNamespacedPod({ namespace: this.namespace, body: pod }),
      () => this.client.core.readNamespacedPod({ namespace: this.namespace, name }));
    // Service and PVCs are owned by the pod, so deleting it (or the reaper deleting it) removes them too.
    const owner = ownedBy({ apiVersion: "v1", kind: "Pod", metadata: created.metadata ?? {} });
    if (service) {
      service.metadata!.ownerReferences = owner;
      await this.createOrGet(this.op("create", "services", name),
        () => this.client.core.createNamespacedService({ namespace: this.namespace, body: service }), async () => service);
    }
    for (const claim of claims) {
      claim.metadata!.ownerReferences = owner;
      await this.createOrGet(this.op("create", "persistentvolumeclaims", claim.metadata!.name),
        () => this.client.core.createNamespacedPersistentVolumeClaim({ namespace: this.namespace, body: claim }), async () => claim);
    }
    this.pods.put(created);
    return this.toMachine(this.pods.get(name) ?? created);
  }

  private async spawnWorkers(spec: MachineSpec, requestId: string, gpu: GpuType | undefined): Promise<Machine> {
    const { deployment, secret } = workerGroupObjects(this.cfg, spec, requestId, gpu);
    const name = deployment.metadata!.name!;
    const created = await this.createOrGet(this.op("create", "deployments", name),
      () => this.client.apps.createNamespacedDeployment({ namespace: this.namespace, body: deployment }),
      () => this.client.apps.readNamespacedDeployment({ namespace: this.namespace, name }));
    secret.metadata!.ownerReferences = ownedBy({ apiVersion: "apps/v1", kind: "Deployment", metadata: created.metadata ?? {} });
    try {
      await this.client.call(this.op("create", "secrets", name), () => this.client.core.createNamespacedSecret({ namespace: this.namespace, body: secret }));
    } catch (e) {
      if (!(e instanceof PyfleetError && e.code === "already_exists")) throw e;
      // A retried spawn may carry a newly issued token: the Secret must hold the current one.
      await this.client.call(this.op("update", "secrets", name),
        () => this.client.core.replaceNamespacedSecret({ namespace: this.namespace, name, body: secret }));
    }
    return this.deploymentToMachine(created);
  }

  /** Resizes a worker group: patches its Deployment's replicas (the pool sees workers attach or leave). */
  async resizeWorkers(id: string, count: number): Promise<Machine> {
    if (!Number.isInteger(count) || count < 0) throw new PyfleetError("invalid_argument", `worker count must be a whole number >= 0 (got ${count})`);
    await this.readDeployment(id);
    const d = await this.client.call(this.op("patch", "deployments", id), () => this.client.apps.patchNamespacedDeployment({
      namespace: this.namespace, name: id, body: [{ op: "replace", path: "/spec/replicas", value: count }],
    }));
    return this.deploymentToMachine(d);
  }

  async get(id: string): Promise<Machine> {
    if (!id) throw new PyfleetError("invalid_argument", "id is required");
    const gone = this.terminated.get(id);
    if (gone) return gone;
    if (id.startsWith("pfw-")) return this.deploymentToMachine(await this.readDeployment(id));
    return this.toMachine(await this.readPod(id));
  }

  async list(filter: ListFilter = {}): Promise<Machine[]> {
    const pods = await this.currentPods();
    const deployments = await this.client.call(this.op("list", "deployments"), () =>
      this.client.apps.listNamespacedDeployment({ namespace: this.namespace, labelSelector: `${PROVIDER_LABEL}=${this.name},${ROLE_LABEL}=workers` }));
    const machines = [
      ...pods.filter((p) => p.metadata?.labels?.[ROLE_LABEL] === "machine").map((p) => this.toMachine(p)),
      ...deployments.items.map((d) => this.deploymentToMachine(d, pods)),
    ].filter((m) => !this.terminated.has(m.id));
    if (filter.includeTerminated) machines.push(...this.terminated.values());
    return machines.filter((m) => machineMatches(m, filter));
  }

  /**
   * A machine's pod log, or each pod's of a worker group (its pods' names as
   * the lines' source). FAILED_PRECONDITION while no pod runs yet.
   */
  async *logs(id: string, options: MachineLogOptions): AsyncGenerator<MachineLogLine[]> {
    if (!id) throw new PyfleetError("invalid_argument", "id is required");
    if (this.terminated.has(id)) throw new PyfleetError("failed_precondition", `"${id}" is terminated; its pods and their logs are gone`);
    const group = id.startsWith("pfw-");
    const pods = group
      ? (await this.currentPods()).filter((p) => p.metadata?.labels?.[MACHINE_LABEL] === id).map((p) => p.metadata!.name!)
      : [(await this.readPod(id)).metadata!.name!];
    if (pods.length === 0) throw new PyfleetError("failed_precondition", `worker group "${id}" has no pods yet; ask again once it is running`);
    yield* mergeLogs(pods.map((pod) => podLog(this.client, pod, CONTAINER, options, group ? pod : "container")), options.signal);
  }

  async stop(id: string): Promise<Machine> {
    throw new PyfleetError("unimplemented", `provider "${this.name}" (Kubernetes) cannot stop "${id}": a pod cannot be paused; terminate it and spawn again`);
  }

  async start(id: string): Promise<Machine> {
    throw new PyfleetError("unimplemented", `provider "${this.name}" (Kubernetes) cannot start "${id}": pods are not stopped, only terminated`);
  }

  async terminate(id: string): Promise<Machine> {
    if (!id) throw new PyfleetError("invalid_argument", "id is required");
    const gone = this.terminated.get(id);
    if (gone) return gone;
    let before: Machine;
    if (id.startsWith("pfw-")) {
      before = this.deploymentToMachine(await this.readDeployment(id));
      await this.deleteIgnoringMissing(this.op("delete", "deployments", id),
        () => this.client.apps.deleteNamespacedDeployment({ namespace: this.namespace, name: id, propagationPolicy: "Background" }));
      await this.deleteIgnoringMissing(this.op("delete", "secrets", id),
        () => this.client.core.deleteNamespacedSecret({ namespace: this.namespace, name: id }));
    } else {
      before = this.toMachine(await this.readPod(id));
      await this.deleteIgnoringMissing(this.op("delete", "pods", id),
        () => this.client.core.deleteNamespacedPod({ namespace: this.namespace, name: id, propagationPolicy: "Background" }));
    }
    return this.remember(create(MachineSchema, { ...before, status: MachineStatus.TERMINATED, message: "terminated by pyfleet" }));
  }

  async gpuTypes(): Promise<GpuType[]> {
    return this.catalog;
  }

  async runJob(spec: JobSpec): Promise<Job> {
    if (!spec.endpoint) throw new PyfleetError("invalid_argument", "spec.endpoint is required: the name of one of the provider's jobs");
    const template = this.options.jobs[spec.endpoint];
    if (!template) {
      const known = Object.keys(this.options.jobs);
      if (known.length === 0) throw new PyfleetError("unimplemented", `provider "${this.name}" has no jobs configured (compute.providers[].jobs)`);
      throw new PyfleetError("not_found", `provider "${this.name}" has no job endpoint "${spec.endpoint}"; configured: ${known.join(", ")}`);
    }
    const name = objectName("pfj", spec.requestId || randomUUID());
    const body = jobObject(this.cfg, {
      name, endpoint: spec.endpoint, template, gpu: resolveGpu(template.gpu, this.catalog, this.name),
      input: JSON.stringify(toJsonValue(spec.input)), timeoutS: spec.timeout ? Math.ceil(durationMs(spec.timeout) / 1000) : 0, requestId: spec.requestId,
    });
    const job = await this.createOrGet(this.op("create", "jobs", name),
      () => this.client.batch.createNamespacedJob({ namespace: this.namespace, body }),
      () => this.client.batch.readNamespacedJob({ namespace: this.namespace, name }));
    this.jobs.put(job);
    return jobOf(this.jobs.get(name) ?? job);
  }

  async getJob(id: string): Promise<Job> {
    const job = await this.readJob(id);
    const j = jobOf(job);
    return j.status === JobStatus.COMPLETED ? jobOf(job, await this.jobOutput(id)) : j;
  }

  async cancelJob(id: string): Promise<Job> {
    const job = await this.getJob(id);
    if (FINISHED.has(job.status)) return job;
    // A suspended Job keeps its record (GetJob still answers) while the controller deletes its pods.
    const patched = await this.client.call(this.op("patch", "jobs", id), () => this.client.batch.patchNamespacedJob({
      namespace: this.namespace, name: id, body: [
        { op: "add", path: `/metadata/annotations/${CANCELLED_ANNOTATION.replace("/", "~1")}`, value: new Date().toISOString() },
        { op: "add", path: "/spec/suspend", value: true },
      ],
    }));
    this.jobs.put(patched);
    return jobOf(patched);
  }

  async *streamJob(id: string, signal: AbortSignal): AsyncGenerator<JobEvent> {
    await this.readJob(id);
    const queue: JobEvent[] = [];
    let wake: (() => void) | undefined;
    const push = (e: JobEvent) => {
      queue.push(e);
      wake?.();
    };
    let following = false;
    let logsDone: Promise<void> = Promise.resolve();
    const check = () => {
      const job = this.jobs.get(id);
      const pod = this.pods.values().find((p) => p.metadata?.labels?.[JOB_NAME_LABEL] === id && p.status?.phase && p.status.phase !== "Pending");
      if (pod && !following) {
        following = true;
        logsDone = this.followLog(pod.metadata!.name!, (line) => push({ output: line }), signal);
      }
      if (job && FINISHED.has(jobOf(job).status)) wake?.();
    };
    const offPods = this.pods.onChange(check);
    const offJobs = this.jobs.onChange(check);
    const onAbort = () => wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      check();
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (signal.aborted) return;
        const job = this.jobs.get(id);
        if (job && FINISHED.has(jobOf(job).status)) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      // The last lines may still be on their way when the Job's status says it finished.
      await Promise.race([logsDone, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      while (queue.length) yield queue.shift()!;
      yield { job: await this.getJob(id) };
    } finally {
      offPods();
      offJobs();
      signal.removeEventListener("abort", onAbort);
    }
  }

  async reset(): Promise<void> {
    throw new PyfleetError("unimplemented", `provider "${this.name}" is a real cluster and has no reset`);
  }

  async close(): Promise<void> {
    this.pods.close();
    this.jobs.close();
  }

  // ---- helpers ----------------------------------------------------------------

  private op(verb: string, resource: string, name?: string): Op {
    return name ? { verb, resource, name } : { verb, resource };
  }

  private async createOrGet<T>(op: Op, createFn: () => Promise<T>, getFn: () => Promise<T>): Promise<T> {
    try {
      return await this.client.call(op, createFn);
    } catch (e) {
      if (!(e instanceof PyfleetError && e.code === "already_exists")) throw e;
      return this.client.call({ ...op, verb: "get" }, getFn);
    }
  }

  private async deleteIgnoringMissing(op: Op, fn: () => Promise<unknown>): Promise<void> {
    try {
      await this.client.call(op, fn);
    } catch (e) {
      if (!(e instanceof PyfleetError && e.code === "not_found")) throw e;
    }
  }

  private mine(obj: { metadata?: { labels?: Record<string, string> } }, role: string): boolean {
    return obj.metadata?.labels?.[PROVIDER_LABEL] === this.name && obj.metadata?.labels?.[ROLE_LABEL] === role;
  }

  private async readPod(id: string): Promise<V1Pod> {
    const cached = this.pods.get(id);
    if (cached && this.mine(cached, "machine")) return cached;
    let pod: V1Pod;
    try {
      pod = await this.client.call(this.op("get", "pods", id), () => this.client.core.readNamespacedPod({ namespace: this.namespace, name: id }));
    } catch (e) {
      if (e instanceof PyfleetError && e.code === "not_found") throw new PyfleetError("not_found", `no machine "${id}" at provider "${this.name}"`);
      throw e;
    }
    // Only pods this provider made are its machines; another pod of the same name is not.
    if (!this.mine(pod, "machine")) throw new PyfleetError("not_found", `no machine "${id}" at provider "${this.name}"`);
    return pod;
  }

  private async readDeployment(id: string): Promise<V1Deployment> {
    let d: V1Deployment;
    try {
      d = await this.client.call(this.op("get", "deployments", id), () => this.client.apps.readNamespacedDeployment({ namespace: this.namespace, name: id }));
    } catch (e) {
      if (e instanceof PyfleetError && e.code === "not_found") throw new PyfleetError("not_found", `no machine "${id}" at provider "${this.name}"`);
      throw e;
    }
    if (!this.mine(d, "workers")) throw new PyfleetError("not_found", `no machine "${id}" at provider "${this.name}"`);
    return d;
  }

  private async readJob(id: string): Promise<V1Job> {
    if (!id) throw new PyfleetError("invalid_argument", "id is required");
    const cached = this.jobs.get(id);
    if (cached && this.mine(cached, "job")) return cached;
    let job: V1Job;
    try {
      job = await this.client.call(this.op("get", "jobs", id), () => this.client.batch.readNamespacedJob({ namespace: this.namespace, name: id }));
    } catch (e) {
      if (e instanceof PyfleetError && e.code === "not_found") throw new PyfleetError("not_found", `no job "${id}" at provider "${this.name}"`);
      throw e;
    }
    if (!this.mine(job, "job")) throw new PyfleetError("not_found", `no job "${id}" at provider "${this.name}"`);
    return job;
  }

  private async currentPods(): Promise<V1Pod[]> {
    // Before the watch's first list is in (or while the API server is away at start), ask directly.
    if (this.pods.isSynced) return this.pods.values();
    const r = await this.client.call(this.op("list", "pods"), () =>
      this.client.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `${PROVIDER_LABEL}=${this.name}` }));
    return r.items;
  }

  private toMachine(pod: V1Pod): Machine {
    return podMachine(pod, this.namespace, this.options.gpuResource);
  }

  private deploymentToMachine(d: V1Deployment, pods = this.pods.values()): Machine {
    const name = d.metadata?.name ?? "";
    return deploymentMachine(d, pods.filter((p) => p.metadata?.labels?.[MACHINE_LABEL] === name), this.namespace, this.options.gpuResource);
  }

  private remember(machine: Machine): Machine {
    this.terminated.delete(machine.id);
    this.terminated.set(machine.id, machine);
    if (this.terminated.size > REMEMBERED) this.terminated.delete(this.terminated.keys().next().value!);
    this.events.emit("machine", machine);
    return machine;
  }

  private podChanged(type: string, pod: V1Pod) {
    if (!this.mine(pod, "machine")) return;
    const id = pod.metadata?.name ?? "";
    if (this.terminated.has(id)) return;
    if (type === "DELETED") {
      // Deleted by someone else (kubectl, an eviction, a drained node): the compute is gone.
      const last = this.toMachine(pod);
      const final = last.status === MachineStatus.FAILED || last.status === MachineStatus.TERMINATED ? last
        : create(MachineSchema, { ...last, status: MachineStatus.TERMINATED, message: "the pod was deleted outside pyfleet" });
      this.remember(final);
      return;
    }
    this.events.emit("machine", this.toMachine(pod));
  }

  /** The last line a finished Job's pod printed, parsed as JSON when it is JSON (undefined when logs are unavailable). */
  private async jobOutput(id: string): Promise<JsonValue | undefined> {
    if (this.outputs.has(id)) return this.outputs.get(id);
    const pod = this.pods.values().find((p) => p.metadata?.labels?.[JOB_NAME_LABEL] === id);
    let output: JsonValue | undefined;
    if (pod) {
      try {
        // One attempt: a log the node cannot serve (it is gone, or has no kubelet) must not hold GetJob up.
        const text = await this.client.call(this.op("get", "pods/log", pod.metadata!.name!),
          () => this.client.core.readNamespacedPodLog({ namespace: this.namespace, name: pod.metadata!.name!, container: "main", tailLines: 50 }), 0);
        const last = String(text).trimEnd().split("\n").at(-1) ?? "";
        output = parseLine(last);
      } catch (e) {
        this.logger.debug({ job: id, err: e instanceof Error ? e.message : String(e) }, "kubernetes: no log for a finished job");
        output = undefined;
      }
    }
    this.outputs.set(id, output);
    if (this.outputs.size > REMEMBERED) this.outputs.delete(this.outputs.keys().next().value!);
    return output;
  }

  /** Follows a pod's log, calling `line` per line; resolves when the log ends or cannot be read. */
  private async followLog(pod: string, line: (value: JsonValue) => void, signal: AbortSignal): Promise<void> {
    const stream = new PassThrough();
    let partial = "";
    const ended = new Promise<void>((resolve) => {
      stream.on("data", (chunk: Buffer) => {
        partial += chunk.toString("utf8");
        const lines = partial.split("\n");
        partial = lines.pop() ?? "";
        for (const l of lines) if (l) line(parseLine(l));
      });
      stream.on("end", () => {
        if (partial) line(parseLine(partial));
        resolve();
      });
      stream.on("close", () => resolve());
    });
    try {
      const abort = await new Log(this.client.kc).log(this.namespace, pod, "main", stream, { follow: true });
      signal.addEventListener("abort", () => abort.abort(), { once: true });
    } catch (e) {
      this.logger.debug({ pod, err: e instanceof Error ? e.message : String(e) }, "kubernetes: cannot follow a job's log");
      return;
    }
    await ended;
  }
}

function parseLine(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}
