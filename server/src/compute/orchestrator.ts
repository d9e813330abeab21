import { EventEmitter } from "node:events";
import net from "node:net";
import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { durationFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { type ComputeSpec, ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { type Capabilities, type GpuType, type Job, JobStatus, type Machine, MachineSpecSchema, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/provider_pb";
import { PyfleetError } from "../errors.js";
import { newId } from "../ids.js";
import type { Logger } from "../log/index.js";
import { BoundedChannel } from "../channel.js";
import { resolveGpu } from "./gpus.js";
import { COMPUTE_LABEL, MANAGED_LABEL, type Provider } from "./provider.js";
import { toJsonValue } from "./providers/common.js";
import { type ComputeRecord, type ComputeStore, FINAL_STATUSES, type JobRecord } from "./store.js";

/** Lets computes run pyfleet workers that dial into this server and join a pool. */
export interface WorkerGroupHost {
  /** The URL workers dial. */
  serverUrl(): string;
  /** The adapter of a pool; undefined when there is no such pool. */
  poolAdapter(pool: string): string | undefined;
  /** A worker token for one compute's workers, good for `pool` only. */
  issueToken(computeId: string, pool: string): string;
  /** Workers of the compute attached and ready right now. */
  attachedWorkers(computeId: string): number;
  /** When the compute's workers last served a call (ms since epoch), if ever. */
  lastActivity(computeId: string): number | undefined;
  /** Called with a compute id whenever its workers attach or detach. */
  onChange(listener: (computeId: string) => void): () => void;
  /** Detaches the compute's workers and invalidates its token. */
  revoke(computeId: string): void;
}

export interface Budget {
  maxComputes?: number;
  maxCostPerHour?: number;
}

export interface OrchestratorOptions {
  store: ComputeStore;
  providers: Provider[];
  defaultProvider: string;
  logger: Logger;
  workerHost?: WorkerGroupHost;
  budgetFor?: (owner: string) => Budget | undefined;
  /** How often a compute on its way to a stable state is polled. */
  pollIntervalMs: number;
  /** How often idle TTLs are checked. */
  idleSweepMs: number;
  /** How often provider resources pyfleet does not know are reaped; 0 disables it. */
  reaperIntervalMs: number;
  /** WaitCompute's limit when the request sets none. */
  waitTimeoutMs: number;
}

export interface ComputeChange {
  compute: ComputeRecord;
  previous: ComputeStatus;
}

export interface ListComputesFilter {
  provider?: string;
  statuses?: ComputeStatus[];
  labels?: Record<string, string>;
}

export interface RunJobInput {
  provider?: string;
  endpoint: string;
  input: JsonValue;
  timeoutMs?: number;
  clientRequestId?: string;
}

export type JobStreamEvent = { output: JsonValue } | { job: JobRecord };

const TRANSITIONAL = new Set([ComputeStatus.PENDING, ComputeStatus.PROVISIONING, ComputeStatus.RUNNING, ComputeStatus.STOPPING, ComputeStatus.TERMINATING]);
const COSTLY = (s: ComputeStatus) => !FINAL_STATUSES.has(s) && s !== ComputeStatus.STOPPED;
const JOB_DONE = new Set([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.TIMED_OUT]);
const REFRESH_AFTER_MS = 1_000;
const SPAWN_FAILED = "spawn failed: ";

/** The provider refused or never answered the spawn: no machine is known, so a retry may try again. */
function failedAtSpawn(c: ComputeRecord): boolean {
  return c.status === ComputeStatus.FAILED && c.providerId === "" && c.statusMessage.startsWith(SPAWN_FAILED);
}
const WATCH_BACKLOG = 10_000;

function statusName(s: ComputeStatus): string {
  return ComputeStatus[s].toLowerCase();
}

function machineStatus(m: Machine): ComputeStatus {
  switch (m.status) {
    case MachineStatus.PROVISIONING:
      return ComputeStatus.PROVISIONING;
    case MachineStatus.RUNNING:
      return ComputeStatus.RUNNING;
    case MachineStatus.STOPPING:
      return ComputeStatus.STOPPING;
    case MachineStatus.STOPPED:
      return ComputeStatus.STOPPED;
    case MachineStatus.TERMINATED:
      return ComputeStatus.TERMINATED;
    case MachineStatus.FAILED:
      return ComputeStatus.FAILED;
    default:
      return ComputeStatus.PROVISIONING;
  }
}

/** Whether a TCP connection to host:port succeeds within a second. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1_000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
  });
}

/**
 * Tracks every compute pyfleet spawns. Each is recorded before its provider
 * is called and again after, so a crash in between is reconciled at the next
 * start; no billed machine is forgotten. It waits for computes to become
 * ready, expires idle ones, reaps machines it does not know, enforces
 * per-tenant budgets, and runs serverless jobs.
 */
export class Orchestrator {
  /** Emits "change" with a ComputeChange for every status change. */
  readonly events = new EventEmitter();
  private readonly providers = new Map<string, Provider>();
  private readonly tracking = new Set<string>();
  /** Computes whose failed spawn is being retried now. */
  private readonly respawning = new Set<string>();
  private readonly wakers = new Map<string, () => void>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly logger: Logger;
  private unsubscribeHost: (() => void) | undefined;
  private closed = false;

  private constructor(private readonly options: OrchestratorOptions) {
    for (const p of options.providers) this.providers.set(p.name, p);
    this.logger = options.logger.child({ component: "compute" });
    this.events.setMaxListeners(0);
  }

  /** Opens the orchestrator: reconciles what the store knows with the providers, then starts its sweeps. */
  static async open(options: OrchestratorOptions): Promise<Orchestrator> {
    if (!options.providers.some((p) => p.name === options.defaultProvider)) {
      throw new PyfleetError("invalid_argument", `compute: defaultProvider "${options.defaultProvider}" is not a configured provider`);
    }
    const o = new Orchestrator(options);
    await o.reconcile();
    o.unsubscribeHost = options.workerHost?.onChange((id) => o.wake(id));
    o.every(options.idleSweepMs, () => o.expireIdle());
    if (options.reaperIntervalMs > 0) {
      void o.reap().catch((e: unknown) => o.logger.warn({ err: e }, "reaper failed"));
      o.every(options.reaperIntervalMs, () => o.reap());
    }
    return o;
  }

  // ---- computes ---------------------------------------------------------------

  async spawn(owner: string, spec: ComputeSpec): Promise<ComputeRecord> {
    this.assertOpen();
    const providerName = spec.provider || this.options.defaultProvider;
    const provider = this.provider(providerName);
    for (const key of Object.keys(spec.labels)) {
      if (key.startsWith("pyfleet.")) throw new PyfleetError("invalid_argument", `spec.labels: "${key}": keys starting with "pyfleet." are reserved`);
    }
    if (spec.clientRequestId.length > 128) throw new PyfleetError("invalid_argument", "spec.client_request_id must be at most 128 characters");
    // A retried spawn returns the compute of its request id; if that spawn
    // failed before the provider made a machine, the retry tries again on the
    // same record (the provider dedupes by its id, so no second machine).
    let again: ComputeRecord | undefined;
    if (spec.clientRequestId) {
      const existing = this.options.store.computeByRequest(owner, spec.clientRequestId);
      if (existing && !(failedAtSpawn(existing) && !this.respawning.has(existing.id))) return existing;
      again = existing;
    }
    const caps = await provider.capabilities();
    this.checkCapabilities(provider, caps, spec);
    const gpu = resolveGpu(spec.gpu, await provider.gpuTypes(), providerName);
    const host = this.options.workerHost;
    let adapter = "";
    if (spec.workers) {
      if (!host) throw new PyfleetError("unimplemented", "worker groups need a pyfleet server to dial into");
      if (!spec.workers.pool) throw new PyfleetError("invalid_argument", "spec.workers.pool is required");
      const poolAdapter = host.poolAdapter(spec.workers.pool);
      if (poolAdapter === undefined) throw new PyfleetError("not_found", `spec.workers.pool: no pool "${spec.workers.pool}" on this server`);
      adapter = spec.workers.adapter || poolAdapter;
    }
    const estimate = this.estimateCost(gpu, spec);
    this.checkBudget(owner, estimate);

    const now = Date.now();
    const record: ComputeRecord = again ? { ...again, status: ComputeStatus.PENDING, statusMessage: "", updatedAt: now, lastActiveAt: now } : {
      id: newId("cmp"),
      owner,
      provider: providerName,
      providerId: "",
      status: ComputeStatus.PENDING,
      statusMessage: "",
      spec: { ...spec, provider: providerName },
      gpuType: gpu?.id ?? "",
      costPerHour: estimate,
      endpoints: [],
      clientRequestId: spec.clientRequestId,
      createdAt: now,
      updatedAt: now,
      readyAt: undefined,
      lastActiveAt: now,
      idleTtlMs: spec.idleTtl ? Number(spec.idleTtl.seconds) * 1000 + Math.floor(spec.idleTtl.nanos / 1e6) : 0,
    };
    if (again) {
      this.respawning.add(record.id);
      this.options.store.updateCompute(record);
    } else try {
      this.options.store.insertCompute(record);
    } catch (e) {
      // Two spawns with one request id raced: the other one won.
      const existing = spec.clientRequestId ? this.options.store.computeByRequest(owner, spec.clientRequestId) : undefined;
      if (existing) return existing;
      throw e;
    }
    this.emitChange(record, ComputeStatus.UNSPECIFIED);

    const machineSpec = create(MachineSpecSchema, {
      gpu: gpu?.id ?? "",
      gpuCount: gpu ? spec.gpuCount || 1 : 0,
      image: spec.image,
      cloudType: spec.cloudType,
      spot: spec.spot,
      regions: spec.regions,
      ports: spec.ports,
      env: spec.env,
      volumes: spec.volumes,
      containerDiskGb: spec.containerDiskGb,
      name: spec.name,
      labels: { ...spec.labels, [COMPUTE_LABEL]: record.id, [MANAGED_LABEL]: "true" },
      command: spec.command,
      ...(spec.workers && host ? {
        workers: {
          serverUrl: host.serverUrl(),
          token: host.issueToken(record.id, spec.workers.pool),
          pool: spec.workers.pool,
          count: spec.workers.count || 1,
          adapter,
        },
      } : {}),
    });
    let machine: Machine;
    try {
      machine = await provider.spawn(machineSpec, record.id);
    } catch (e) {
      const err = e instanceof PyfleetError ? e : new PyfleetError("unavailable", `provider "${providerName}" failed: ${String(e)}`);
      this.save(record, ComputeStatus.FAILED, `${SPAWN_FAILED}${err.message}`);
      if (spec.workers) host?.revoke(record.id);
      throw err;
    } finally {
      this.respawning.delete(record.id);
    }
    await this.apply(record, machine);
    this.track(record.id);
    return record;
  }

  /** A compute of `owner`, refreshed from its provider when the record is over a second old. */
  async get(owner: string, id: string): Promise<ComputeRecord> {
    const record = this.owned(owner, id);
    if (!FINAL_STATUSES.has(record.status) && Date.now() - record.updatedAt > REFRESH_AFTER_MS) await this.refresh(record);
    return record;
  }

  list(owner: string, filter: ListComputesFilter = {}): ComputeRecord[] {
    const statuses = filter.statuses?.length ? new Set(filter.statuses) : undefined;
    return this.options.store.allComputes().filter((c) =>
      c.owner === owner
      && (!filter.provider || c.provider === filter.provider)
      && (statuses ? statuses.has(c.status) : c.status !== ComputeStatus.TERMINATED)
      && Object.entries(filter.labels ?? {}).every(([k, v]) => c.spec.labels[k] === v));
  }

  async stop(owner: string, id: string): Promise<ComputeRecord> {
    const record = this.owned(owner, id);
    const provider = this.provider(record.provider);
    if (!(await provider.capabilities()).stopStart) throw new PyfleetError("unimplemented", `provider "${record.provider}" cannot stop machines; terminate instead`);
    if (record.status === ComputeStatus.STOPPED) return record;
    this.assertNotFinal(record, "stop");
    await this.apply(record, await provider.stop(record.providerId));
    this.track(record.id);
    return record;
  }

  async start(owner: string, id: string): Promise<ComputeRecord> {
    const record = this.owned(owner, id);
    const provider = this.provider(record.provider);
    if (!(await provider.capabilities()).stopStart) throw new PyfleetError("unimplemented", `provider "${record.provider}" cannot stop or start machines`);
    this.assertNotFinal(record, "start");
    if (record.status === ComputeStatus.READY || record.status === ComputeStatus.RUNNING) return record;
    await this.apply(record, await provider.start(record.providerId));
    record.lastActiveAt = Date.now();
    this.track(record.id);
    return record;
  }

  /** Terminates the compute's machine (idempotent) and detaches its workers. */
  async terminate(owner: string, id: string, reason = "terminated on request"): Promise<ComputeRecord> {
    return this.terminateRecord(this.owned(owner, id), reason);
  }

  touch(owner: string, id: string): ComputeRecord {
    const record = this.owned(owner, id);
    this.assertNotFinal(record, "be touched");
    record.lastActiveAt = Date.now();
    this.options.store.updateCompute(record);
    return record;
  }

  /** When an idle compute will be terminated, if it has an idle TTL. */
  idleExpiresAt(record: ComputeRecord): number | undefined {
    if (!record.idleTtlMs || FINAL_STATUSES.has(record.status)) return undefined;
    return this.lastActive(record) + record.idleTtlMs;
  }

  /** Workers of a compute's worker group attached now. */
  workersAttached(record: ComputeRecord): number {
    return record.spec.workers ? this.options.workerHost?.attachedWorkers(record.id) ?? 0 : 0;
  }

  /**
   * Yields the compute's state now and after each change until it is READY.
   * FAILED_PRECONDITION if it fails, stops or terminates first;
   * DEADLINE_EXCEEDED after `timeoutMs`.
   */
  async *wait(owner: string, id: string, timeoutMs: number | undefined, signal: AbortSignal): AsyncGenerator<ComputeRecord> {
    const limit = timeoutMs || this.options.waitTimeoutMs;
    const changes = this.subscribe((c) => c.compute.id === id, signal);
    const timer = setTimeout(() => changes.fail(new PyfleetError("deadline_exceeded",
      `compute ${id} was not ready within ${Math.round(limit / 1000)} s; it may still become ready: wait again or check its status`)), limit);
    try {
      let record = await this.get(owner, id);
      const iterator = changes[Symbol.asyncIterator]();
      for (;;) {
        yield record;
        if (record.status === ComputeStatus.READY) return;
        if (FINAL_STATUSES.has(record.status) || record.status === ComputeStatus.STOPPED) {
          throw new PyfleetError("failed_precondition", `compute ${id} is ${statusName(record.status)}${record.statusMessage ? `: ${record.statusMessage}` : ""}; it will not become ready`);
        }
        const next = await iterator.next();
        if (next.done) return;
        record = next.value.compute;
      }
    } finally {
      clearTimeout(timer);
      changes.close();
    }
  }

  /** Every status change of `owner`'s computes matching the filter, until `signal` aborts. */
  async *watch(owner: string, filter: ListComputesFilter, includeInitial: boolean, signal: AbortSignal): AsyncGenerator<ComputeChange> {
    const matches = (c: ComputeRecord) => c.owner === owner
      && (!filter.provider || c.provider === filter.provider)
      && Object.entries(filter.labels ?? {}).every(([k, v]) => c.spec.labels[k] === v);
    const changes = this.subscribe((change) => matches(change.compute), signal);
    try {
      if (includeInitial) {
        for (const c of this.options.store.liveComputes()) if (matches(c)) yield { compute: c, previous: ComputeStatus.UNSPECIFIED };
      }
      yield* changes;
    } finally {
      changes.close();
    }
  }

  async providerInfo(): Promise<{ name: string; kind: string; capabilities: Capabilities; isDefault: boolean }[]> {
    const out = [];
    for (const p of [...this.providers.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      out.push({ name: p.name, kind: p.kind, capabilities: await p.capabilities(), isDefault: p.name === this.options.defaultProvider });
    }
    return out;
  }

  gpuTypes(provider: string): Promise<GpuType[]> {
    return this.provider(provider || this.options.defaultProvider).gpuTypes();
  }

  /** The provider object by name (for scripting the mock provider in tests). */
  providerNamed(name: string): Provider {
    return this.provider(name);
  }

  // ---- jobs ------------------------------------------------------------------

  async runJob(owner: string, input: RunJobInput): Promise<JobRecord> {
    this.assertOpen();
    const providerName = input.provider || this.options.defaultProvider;
    const provider = this.provider(providerName);
    if (!input.endpoint) throw new PyfleetError("invalid_argument", "endpoint is required");
    if (!(await provider.capabilities()).jobs) throw new PyfleetError("unimplemented", `provider "${providerName}" does not run jobs`);
    if (input.clientRequestId) {
      const existing = this.options.store.jobByRequest(owner, input.clientRequestId);
      if (existing) return existing;
    }
    const record: JobRecord = {
      id: newId("job"),
      owner,
      provider: providerName,
      providerJobId: "",
      endpoint: input.endpoint,
      status: JobStatus.QUEUED,
      input: input.input,
      output: null,
      error: "",
      clientRequestId: input.clientRequestId ?? "",
      createdAt: Date.now(),
      finishedAt: undefined,
    };
    this.options.store.insertJob(record);
    let job: Job;
    try {
      job = await provider.runJob({
        $typeName: "pyfleet.provider.v1.JobSpec",
        endpoint: input.endpoint,
        input: fromJson(ValueSchema, input.input ?? null),
        requestId: record.id,
        ...(input.timeoutMs ? { timeout: durationFromMs(input.timeoutMs) } : {}),
      });
    } catch (e) {
      record.status = JobStatus.FAILED;
      record.error = e instanceof Error ? e.message : String(e);
      record.finishedAt = Date.now();
      this.options.store.updateJob(record);
      throw e;
    }
    this.applyJob(record, job);
    return record;
  }

  async getJob(owner: string, id: string): Promise<JobRecord> {
    const record = this.ownedJob(owner, id);
    if (!JOB_DONE.has(record.status)) this.applyJob(record, await this.provider(record.provider).getJob(record.providerJobId));
    return record;
  }

  async cancelJob(owner: string, id: string): Promise<JobRecord> {
    const record = this.ownedJob(owner, id);
    if (!JOB_DONE.has(record.status)) this.applyJob(record, await this.provider(record.provider).cancelJob(record.providerJobId));
    return record;
  }

  async *streamJob(owner: string, id: string, signal: AbortSignal): AsyncGenerator<JobStreamEvent> {
    const record = this.ownedJob(owner, id);
    const provider = this.provider(record.provider);
    if (!(await provider.capabilities()).jobStreaming) throw new PyfleetError("unimplemented", `provider "${record.provider}" cannot stream jobs; poll GetJob instead`);
    for await (const event of provider.streamJob(record.providerJobId, signal)) {
      if ("job" in event) {
        this.applyJob(record, event.job);
        yield { job: record };
        return;
      }
      yield event;
    }
  }

  private applyJob(record: JobRecord, job: Job) {
    record.providerJobId = job.id || record.providerJobId;
    record.status = job.status;
    if (job.output) record.output = toJsonValue(job.output);
    record.error = job.error;
    if (JOB_DONE.has(job.status) && record.finishedAt === undefined) record.finishedAt = Date.now();
    this.options.store.updateJob(record);
  }

  // ---- upkeep -------------------------------------------------------------------

  /**
   * Terminates provider machines that carry pyfleet's label but that the
   * store does not know, or knows as terminated. Returns how many it reaped.
   */
  async reap(): Promise<number> {
    let reaped = 0;
    for (const provider of this.providers.values()) {
      let machines: Machine[];
      try {
        machines = await provider.list({ labels: { [MANAGED_LABEL]: "true" } });
      } catch (e) {
        this.logger.warn({ provider: provider.name, err: e instanceof Error ? e.message : e }, "reaper could not list machines");
        continue;
      }
      for (const machine of machines) {
        const computeId = machine.labels[COMPUTE_LABEL] ?? "";
        const record = computeId ? this.options.store.getCompute(computeId) : undefined;
        if (machine.status === MachineStatus.TERMINATED) continue;
        if (record && !FINAL_STATUSES.has(record.status) && record.providerId === machine.id) continue;
        if (record && record.status === ComputeStatus.PENDING) continue;
        try {
          await provider.terminate(machine.id);
          reaped++;
          this.logger.warn({ provider: provider.name, machine: machine.id, compute: computeId }, `reaped machine ${machine.id}: pyfleet has no live compute for it`);
        } catch (e) {
          this.logger.warn({ provider: provider.name, machine: machine.id, err: e instanceof Error ? e.message : e }, "reaper could not terminate a machine");
        }
      }
    }
    return reaped;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.unsubscribeHost?.();
    for (const wake of this.wakers.values()) wake();
    await Promise.all([...this.providers.values()].map((p) => p.close?.()));
    this.options.store.close();
  }

  // ---- internals ----------------------------------------------------------------

  private provider(name: string): Provider {
    const p = this.providers.get(name);
    if (!p) throw new PyfleetError("not_found", `unknown provider "${name}"; configured: ${[...this.providers.keys()].sort().join(", ")} (see ListProviders)`);
    return p;
  }

  private owned(owner: string, id: string): ComputeRecord {
    const record = this.options.store.getCompute(id);
    if (!record || record.owner !== owner) throw new PyfleetError("not_found", `no compute "${id}"`);
    return record;
  }

  private ownedJob(owner: string, id: string): JobRecord {
    const record = this.options.store.getJob(id);
    if (!record || record.owner !== owner) throw new PyfleetError("not_found", `no job "${id}"`);
    return record;
  }

  private assertOpen() {
    if (this.closed) throw new PyfleetError("unavailable", "the compute orchestrator is shutting down");
  }

  private assertNotFinal(record: ComputeRecord, action: string) {
    if (FINAL_STATUSES.has(record.status)) {
      throw new PyfleetError("failed_precondition", `compute ${record.id} is ${statusName(record.status)} and cannot ${action}`);
    }
  }

  private checkCapabilities(provider: Provider, caps: Capabilities, spec: ComputeSpec) {
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

  private estimateCost(gpu: GpuType | undefined, spec: ComputeSpec): number {
    if (!gpu) return 0;
    return (spec.spot ? gpu.spotPricePerHour || gpu.pricePerHour : gpu.pricePerHour) * (spec.gpuCount || 1);
  }

  private checkBudget(owner: string, addedCost: number) {
    const budget = this.options.budgetFor?.(owner);
    if (!budget) return;
    const live = this.options.store.liveComputes().filter((c) => c.owner === owner && COSTLY(c.status));
    if (budget.maxComputes !== undefined && live.length >= budget.maxComputes) {
      throw new PyfleetError("resource_exhausted", `budget: ${owner || "this tenant"} already runs ${live.length} computes (maxComputes ${budget.maxComputes}); terminate one first`);
    }
    const cost = live.reduce((sum, c) => sum + c.costPerHour, 0);
    if (budget.maxCostPerHour !== undefined && cost + addedCost > budget.maxCostPerHour) {
      throw new PyfleetError("resource_exhausted", `budget: this compute would bring ${owner || "this tenant"} to $${(cost + addedCost).toFixed(2)}/hour (maxCostPerHour $${budget.maxCostPerHour}); use a smaller GPU or terminate a compute`);
    }
  }

  private lastActive(record: ComputeRecord): number {
    return Math.max(record.lastActiveAt, this.options.workerHost?.lastActivity(record.id) ?? 0);
  }

  /** Records a machine's state on its compute; READY once its ports answer or its workers are attached. */
  private async apply(record: ComputeRecord, machine: Machine): Promise<void> {
    record.providerId = machine.id;
    record.gpuType = machine.gpuType || record.gpuType;
    if (machine.costPerHour > 0) record.costPerHour = machine.costPerHour;
    record.endpoints = machine.endpoints;
    let status = machineStatus(machine);
    if (status === ComputeStatus.RUNNING && (await this.isReady(record))) status = ComputeStatus.READY;
    const message = status === ComputeStatus.READY || status === ComputeStatus.RUNNING ? "" : machine.message || record.statusMessage;
    this.save(record, status, message);
  }

  private async isReady(record: ComputeRecord): Promise<boolean> {
    const workers = record.spec.workers;
    if (workers) return (this.options.workerHost?.attachedWorkers(record.id) ?? 0) >= (workers.count || 1);
    if (!this.provider(record.provider).probesPorts || record.endpoints.length === 0) return true;
    const checks = record.endpoints.map((e) => {
      if (e.protocol === "tcp") return reachable(e.host, e.publicPort || e.port);
      const url = new URL(e.url);
      return reachable(url.hostname, Number(url.port) || (url.protocol === "https:" ? 443 : 80));
    });
    return (await Promise.all(checks)).every(Boolean);
  }

  private save(record: ComputeRecord, status: ComputeStatus, message: string) {
    const previous = record.status;
    record.status = status;
    record.statusMessage = message;
    record.updatedAt = Date.now();
    if (status === ComputeStatus.READY && record.readyAt === undefined) record.readyAt = record.updatedAt;
    this.options.store.updateCompute(record);
    if (previous !== status) this.emitChange(record, previous);
  }

  private emitChange(record: ComputeRecord, previous: ComputeStatus) {
    this.logger.info({ compute: record.id, provider: record.provider, status: statusName(record.status), previous: previous ? statusName(previous) : undefined },
      `compute ${record.id} is ${statusName(record.status)}${record.statusMessage ? `: ${record.statusMessage}` : ""}`);
    this.events.emit("change", { compute: { ...record }, previous } satisfies ComputeChange);
  }

  private subscribe(filter: (c: ComputeChange) => boolean, signal: AbortSignal): BoundedChannel<ComputeChange> {
    const channel = new BoundedChannel<ComputeChange>(WATCH_BACKLOG, () => new PyfleetError("resource_exhausted", "the watcher fell too far behind; watch again"));
    const listener = (c: ComputeChange) => {
      if (filter(c)) channel.push(c);
    };
    this.events.on("change", listener);
    const stop = () => channel.close();
    signal.addEventListener("abort", stop, { once: true });
    channel.onDone(() => {
      this.events.off("change", listener);
      signal.removeEventListener("abort", stop);
    });
    return channel;
  }

  private async refresh(record: ComputeRecord): Promise<void> {
    if (!record.providerId) return;
    try {
      await this.apply(record, await this.provider(record.provider).get(record.providerId));
    } catch (e) {
      if (e instanceof PyfleetError && e.code === "not_found") {
        this.save(record, ComputeStatus.TERMINATED, `the machine is gone at provider "${record.provider}"`);
        return;
      }
      throw e;
    }
  }

  /** Polls a compute until it settles (ready, stopped or gone); worker attachments wake it early. */
  private track(id: string) {
    if (this.tracking.has(id) || this.closed) return;
    this.tracking.add(id);
    void (async () => {
      try {
        for (;;) {
          const record = this.options.store.getCompute(id);
          if (!record || this.closed) return;
          const settled = !TRANSITIONAL.has(record.status) && !(record.status === ComputeStatus.READY && record.spec.workers);
          if (settled) return;
          if (record.status === ComputeStatus.READY) {
            // A ready worker-group compute only needs re-checking when its workers change.
            await this.sleep(id, 0);
          } else {
            await this.refresh(record);
            const after = this.options.store.getCompute(id)!;
            if (after.status === ComputeStatus.READY && !after.spec.workers) return;
            if (!TRANSITIONAL.has(after.status) && after.status !== ComputeStatus.READY) return;
            await this.sleep(id, this.options.pollIntervalMs);
          }
          const latest = this.options.store.getCompute(id);
          if (latest && latest.status === ComputeStatus.READY && latest.spec.workers && !(await this.isReady(latest))) {
            this.save(latest, ComputeStatus.RUNNING, "its workers detached");
          }
        }
      } catch (e) {
        this.logger.warn({ compute: id, err: e instanceof Error ? e.message : e }, "tracking a compute failed; it is refreshed on its next read");
      } finally {
        this.tracking.delete(id);
      }
    })();
  }

  /** Waits `ms` (0: until woken) or until the compute's workers change. */
  private sleep(id: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms > 0 ? setTimeout(done, ms) : undefined;
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakers.set(id, () => {
        this.wakers.delete(id);
        done();
      });
    });
  }

  private wake(id: string) {
    const waker = this.wakers.get(id);
    if (waker) waker();
    else if (this.options.store.getCompute(id)) this.track(id);
  }

  private async terminateRecord(record: ComputeRecord, reason: string): Promise<ComputeRecord> {
    if (record.status === ComputeStatus.TERMINATED) return record;
    const provider = this.provider(record.provider);
    if (record.spec.workers) this.options.workerHost?.revoke(record.id);
    if (!record.providerId) {
      // It never got a machine (failed or pending spawn): nothing is billed.
      this.save(record, ComputeStatus.TERMINATED, reason);
      return record;
    }
    this.save(record, ComputeStatus.TERMINATING, reason);
    try {
      const machine = await provider.terminate(record.providerId);
      await this.apply(record, machine);
    } catch (e) {
      if (!(e instanceof PyfleetError && e.code === "not_found")) {
        this.save(record, ComputeStatus.TERMINATING, `terminate failed, retrying later: ${e instanceof Error ? e.message : String(e)}`);
        this.track(record.id);
        throw e;
      }
    }
    this.save(record, ComputeStatus.TERMINATED, reason);
    return record;
  }

  private async expireIdle() {
    const now = Date.now();
    for (const record of this.options.store.liveComputes()) {
      if (!record.idleTtlMs || record.status === ComputeStatus.TERMINATING) continue;
      if (now - this.lastActive(record) <= record.idleTtlMs) continue;
      try {
        await this.terminateRecord(record, `idle for more than ${Math.round(record.idleTtlMs / 1000)} s (idle_ttl)`);
      } catch (e) {
        this.logger.warn({ compute: record.id, err: e instanceof Error ? e.message : e }, "could not terminate an idle compute");
      }
    }
  }

  /** At start: what the store knows, checked against the providers. */
  private async reconcile() {
    for (const record of this.options.store.liveComputes()) {
      const provider = this.providers.get(record.provider);
      if (!provider) {
        this.logger.warn({ compute: record.id, provider: record.provider }, `compute ${record.id} is on provider "${record.provider}", which is no longer configured`);
        continue;
      }
      try {
        if (record.status === ComputeStatus.PENDING || !record.providerId) {
          const found = (await provider.list({ labels: { [COMPUTE_LABEL]: record.id }, includeTerminated: true }))[0];
          if (found) {
            await this.apply(record, found);
            this.logger.warn({ compute: record.id, machine: found.id }, `recovered compute ${record.id}: its spawn was interrupted, the provider has machine ${found.id}`);
          } else {
            this.save(record, ComputeStatus.FAILED, `the server stopped before provider "${record.provider}" answered the spawn, and the provider has no machine for it`);
          }
        } else {
          await this.refresh(record);
        }
      } catch (e) {
        this.logger.warn({ compute: record.id, err: e instanceof Error ? e.message : e }, "could not reconcile a compute; it is retried on its next read");
      }
      if (!FINAL_STATUSES.has(record.status)) this.track(record.id);
    }
  }

  private every(ms: number, fn: () => Promise<unknown> | void) {
    const timer = setInterval(() => {
      void Promise.resolve(fn()).catch((e: unknown) => this.logger.warn({ err: e instanceof Error ? e.message : e }, "compute upkeep failed"));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }
}

