import type { EventEmitter } from "node:events";
import { create } from "@bufbuild/protobuf";
import { type ComputeSpec, ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { type Capabilities, type GpuType, type Machine, MachineSpecSchema } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { PyfleetError } from "../errors.js";
import { newId } from "../ids.js";
import { assertNotFinal, checkBudget, checkCapabilities, estimateCost } from "./admission.js";
import { type ComputeChange, ComputeContext, type JobStreamEvent, type ListComputesFilter, type OrchestratorOptions, type RunJobInput, statusName } from "./context.js";
import { resolveGpu } from "./gpus.js";
import { Jobs } from "./jobs.js";
import { COMPUTE_LABEL, type MachineLogLine, type MachineLogOptions, MANAGED_LABEL, OWNER_LABEL, type Provider } from "./provider.js";
import { type ComputeRecord, type ComputeStore, FINAL_STATUSES, type JobRecord } from "./store/index.js";
import { Tracker } from "./tracking.js";
import { Upkeep } from "./upkeep.js";
import { workerGroupUrl } from "./worker-url.js";

export type { Budget, ComputeChange, JobStreamEvent, ListComputesFilter, OrchestratorOptions, RunJobInput, WorkerGroupHost } from "./context.js";

const COSTLY = (s: ComputeStatus) => !FINAL_STATUSES.has(s) && s !== ComputeStatus.STOPPED;
const REFRESH_AFTER_MS = 1_000;
const SPAWN_FAILED = "spawn failed: ";

/** The provider refused or never answered the spawn: no machine is known, so a retry may try again. */
function failedAtSpawn(c: ComputeRecord): boolean {
  return c.status === ComputeStatus.FAILED && c.providerId === "" && c.statusMessage.startsWith(SPAWN_FAILED);
}

/**
 * Tracks every compute pyfleet spawns. Each is recorded before its provider
 * is called and again after, so a crash in between is reconciled at the next
 * start; no billed machine is forgotten. It waits for computes to become
 * ready, expires idle ones, reaps machines it does not know, enforces
 * per-tenant budgets, and runs serverless jobs. This class is the facade
 * over its rooms: Tracker (state and polling), Jobs, Upkeep (reconcile,
 * idle expiry, reaper), which share a ComputeContext.
 */
export class Orchestrator {
  /** Emits "change" with a ComputeChange for every status change. */
  readonly events: EventEmitter;
  private readonly ctx: ComputeContext;
  private readonly tracker: Tracker;
  private readonly jobs: Jobs;
  private readonly upkeep: Upkeep;
  private unsubscribeHost: (() => void) | undefined;

  private constructor(options: OrchestratorOptions) {
    this.ctx = new ComputeContext(options);
    this.events = this.ctx.events;
    this.tracker = new Tracker(this.ctx);
    this.jobs = new Jobs(this.ctx);
    this.upkeep = new Upkeep(this.ctx, this.tracker);
  }

  /** Opens the orchestrator: reconciles what the store knows with the providers, then starts its sweeps. */
  static async open(options: OrchestratorOptions): Promise<Orchestrator> {
    if (!options.providers.some((p) => p.name === options.defaultProvider)) {
      throw new PyfleetError("invalid_argument", `compute: defaultProvider "${options.defaultProvider}" is not a configured provider`);
    }
    const o = new Orchestrator(options);
    // With SQLite this server leads at once and open() returns after its
    // first reconcile; with Postgres, upkeep starts whenever it is elected.
    await o.upkeep.start();
    o.unsubscribeHost = options.workerHost?.onChange((id) => o.tracker.wake(id));
    return o;
  }

  /** The store this orchestrator keeps its records in; the fleet registers replicas in it too. */
  get store(): ComputeStore {
    return this.ctx.store;
  }

  // ---- computes ---------------------------------------------------------------

  async spawn(owner: string, spec: ComputeSpec): Promise<ComputeRecord> {
    const { ctx, tracker } = this;
    const store = ctx.store;
    ctx.assertOpen();
    const providerName = spec.provider || ctx.options.defaultProvider;
    const provider = ctx.provider(providerName);
    for (const key of Object.keys(spec.labels)) {
      if (key.startsWith("pyfleet.")) throw new PyfleetError("invalid_argument", `spec.labels: "${key}": keys starting with "pyfleet." are reserved`);
    }
    if (spec.clientRequestId.length > 128) throw new PyfleetError("invalid_argument", "spec.client_request_id must be at most 128 characters");
    // A retried spawn returns the compute of its request id; if that spawn
    // failed before the provider made a machine, the retry tries again on the
    // same record (the provider dedupes by its id, so no second machine).
    let again: ComputeRecord | undefined;
    if (spec.clientRequestId) {
      const existing = await store.computeByRequest(owner, spec.clientRequestId);
      if (existing && !failedAtSpawn(existing)) return existing;
      again = existing;
    }
    const caps = await provider.capabilities();
    checkCapabilities(provider, caps, spec);
    const gpu = resolveGpu(spec.gpu, await provider.gpuTypes(), providerName);
    const host = ctx.workerHost;
    let adapter = "";
    let workerUrl = "";
    if (spec.workers) {
      if (!host) throw new PyfleetError("unimplemented", "worker groups need a pyfleet server to dial into");
      workerUrl = workerGroupUrl(host, provider);
      if (!spec.workers.pool) throw new PyfleetError("invalid_argument", "spec.workers.pool is required");
      const poolAdapter = host.poolAdapter(spec.workers.pool);
      if (poolAdapter === undefined) throw new PyfleetError("not_found", `spec.workers.pool: no pool "${spec.workers.pool}" on this server`);
      adapter = spec.workers.adapter || poolAdapter;
    }
    const estimate = estimateCost(gpu, spec);
    const admit = this.admitter(owner, estimate);

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
      admit?.((await store.liveComputes()).filter((c) => c.owner === owner));
      // Only one retry (on any replica) wins the failed record back.
      if (!(await store.updateComputeIf(record, ComputeStatus.FAILED))) return this.owned(owner, record.id);
    } else {
      // Atomic across replicas: a second spawn with this request id gets the
      // first one's compute, and the budget counts every replica's spawns.
      const stored = await store.createCompute(record, admit);
      if (stored.id !== record.id) return stored;
    }
    tracker.announce(record, ComputeStatus.UNSPECIFIED);

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
      labels: { ...spec.labels, [COMPUTE_LABEL]: record.id, [OWNER_LABEL]: owner, [MANAGED_LABEL]: "true" },
      command: spec.command,
      workers: spec.workers && host ? {
        serverUrl: workerUrl,
        token: host.issueToken(record.id, spec.workers.pool),
        pool: spec.workers.pool,
        count: spec.workers.count || 1,
        adapter,
      } : undefined,
    });
    let machine: Machine;
    try {
      const attributes = { "pyfleet.compute": record.id, "pyfleet.provider": providerName, "pyfleet.gpu": gpu?.id ?? "" };
      machine = await ctx.telemetry.span("pyfleet.compute.spawn", attributes, async (span) => {
        const spawned = await provider.spawn(machineSpec, record.id);
        span.setAttributes({ "pyfleet.machine": spawned.id });
        return spawned;
      });
    } catch (e) {
      const err = e instanceof PyfleetError ? e : new PyfleetError("unavailable", `provider "${providerName}" failed: ${String(e)}`);
      await tracker.save(record, ComputeStatus.FAILED, `${SPAWN_FAILED}${err.message}`);
      if (spec.workers) host?.revoke(record.id);
      throw err;
    }
    await tracker.apply(record, machine);
    tracker.track(record.id);
    return record;
  }

  /** A compute of `owner`, refreshed from its provider when the record is over a second old. */
  async get(owner: string, id: string): Promise<ComputeRecord> {
    const record = await this.owned(owner, id);
    if (!FINAL_STATUSES.has(record.status) && Date.now() - record.updatedAt > REFRESH_AFTER_MS) await this.tracker.refresh(record);
    return record;
  }

  async list(owner: string, filter: ListComputesFilter = {}): Promise<ComputeRecord[]> {
    const statuses = filter.statuses?.length ? new Set(filter.statuses) : undefined;
    return (await this.ctx.store.allComputes(owner)).filter((c) =>
      (!filter.provider || c.provider === filter.provider)
      && (statuses ? statuses.has(c.status) : c.status !== ComputeStatus.TERMINATED)
      && Object.entries(filter.labels ?? {}).every(([k, v]) => c.spec.labels[k] === v));
  }

  /** Every tenant's computes that are not terminated, for metrics. */
  async allLive(): Promise<ComputeRecord[]> {
    return (await this.ctx.store.allComputes()).filter((c) => c.status !== ComputeStatus.TERMINATED);
  }

  async stop(owner: string, id: string): Promise<ComputeRecord> {
    const record = await this.owned(owner, id);
    const provider = this.ctx.provider(record.provider);
    if (!(await provider.capabilities()).stopStart) throw new PyfleetError("unimplemented", `provider "${record.provider}" cannot stop machines; terminate instead`);
    if (record.status === ComputeStatus.STOPPED) return record;
    assertNotFinal(record, "stop");
    await this.tracker.apply(record, await provider.stop(record.providerId));
    this.tracker.track(record.id);
    return record;
  }

  async start(owner: string, id: string): Promise<ComputeRecord> {
    const record = await this.owned(owner, id);
    const provider = this.ctx.provider(record.provider);
    if (!(await provider.capabilities()).stopStart) throw new PyfleetError("unimplemented", `provider "${record.provider}" cannot stop or start machines`);
    assertNotFinal(record, "start");
    if (record.status === ComputeStatus.READY || record.status === ComputeStatus.RUNNING) return record;
    await this.tracker.apply(record, await provider.start(record.providerId));
    record.lastActiveAt = Date.now();
    this.tracker.track(record.id);
    return record;
  }

  /** Terminates the compute's machine (idempotent) and detaches its workers. */
  async terminate(owner: string, id: string, reason = "terminated on request"): Promise<ComputeRecord> {
    return this.tracker.terminate(await this.owned(owner, id), reason);
  }

  async touch(owner: string, id: string): Promise<ComputeRecord> {
    const record = await this.owned(owner, id);
    assertNotFinal(record, "be touched");
    record.lastActiveAt = Date.now();
    await this.ctx.store.updateCompute(record);
    return record;
  }

  /**
   * The compute's machine log, as its provider keeps it: UNIMPLEMENTED where
   * it keeps none, FAILED_PRECONDITION before there is a machine or once it
   * is terminated.
   */
  async *logs(owner: string, id: string, options: MachineLogOptions): AsyncGenerator<MachineLogLine[]> {
    const record = await this.owned(owner, id);
    const provider = this.ctx.provider(record.provider);
    if (!provider.logs) {
      throw new PyfleetError("unimplemented", `provider "${record.provider}" (${provider.kind}) keeps no machine logs; the kubernetes, runpod and mock providers do`);
    }
    if (record.status === ComputeStatus.TERMINATED) throw new PyfleetError("failed_precondition", `compute ${id} is terminated; its machine and its log are gone`);
    if (record.providerId === "") throw new PyfleetError("failed_precondition", `compute ${id} has no machine yet (${statusName(record.status)}); wait for it (WaitCompute) and ask again`);
    yield* provider.logs(record.providerId, options);
  }

  /** When an idle compute will be terminated, if it has an idle TTL. */
  idleExpiresAt(record: ComputeRecord): number | undefined {
    if (!record.idleTtlMs || FINAL_STATUSES.has(record.status)) return undefined;
    return this.ctx.lastActive(record) + record.idleTtlMs;
  }

  /** Workers of a compute's worker group attached now. */
  workersAttached(record: ComputeRecord): number {
    return record.spec.workers ? this.ctx.workerHost?.attachedWorkers(record.id) ?? 0 : 0;
  }

  /**
   * Yields the compute's state now and after each change until it is READY.
   * FAILED_PRECONDITION if it fails, stops or terminates first;
   * DEADLINE_EXCEEDED after `timeoutMs`.
   */
  async *wait(owner: string, id: string, timeoutMs: number | undefined, signal: AbortSignal): AsyncGenerator<ComputeRecord> {
    const limit = timeoutMs || this.ctx.options.waitTimeoutMs;
    const changes = this.tracker.subscribe((c) => c.compute.id === id, signal);
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
    const changes = this.tracker.subscribe((change) => matches(change.compute), signal);
    try {
      if (includeInitial) {
        for (const c of await this.ctx.store.liveComputes()) if (matches(c)) yield { compute: c, previous: ComputeStatus.UNSPECIFIED };
      }
      yield* changes;
    } finally {
      changes.close();
    }
  }

  async providerInfo(): Promise<{ name: string; kind: string; capabilities: Capabilities; isDefault: boolean }[]> {
    const out = [];
    for (const p of [...this.ctx.providers.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      out.push({ name: p.name, kind: p.kind, capabilities: await p.capabilities(), isDefault: p.name === this.ctx.options.defaultProvider });
    }
    return out;
  }

  gpuTypes(provider: string): Promise<GpuType[]> {
    return this.ctx.provider(provider || this.ctx.options.defaultProvider).gpuTypes();
  }

  /**
   * A configured provider's object by name (NOT_FOUND otherwise): for an
   * embedding program to script the mock provider (MockProvider's
   * failNextSpawn, writeLog, ...) or reach a provider's own methods.
   */
  providerNamed(name: string): Provider {
    return this.ctx.provider(name);
  }

  // ---- jobs ------------------------------------------------------------------

  runJob(owner: string, input: RunJobInput): Promise<JobRecord> {
    return this.jobs.run(owner, input);
  }

  getJob(owner: string, id: string): Promise<JobRecord> {
    return this.jobs.get(owner, id);
  }

  cancelJob(owner: string, id: string): Promise<JobRecord> {
    return this.jobs.cancel(owner, id);
  }

  streamJob(owner: string, id: string, signal: AbortSignal): AsyncGenerator<JobStreamEvent> {
    return this.jobs.stream(owner, id, signal);
  }

  // ---- upkeep -------------------------------------------------------------------

  /** Terminates labelled provider machines pyfleet has no live compute for; returns how many. */
  reap(): Promise<number> {
    return this.upkeep.reap();
  }

  async close(): Promise<void> {
    this.ctx.closed = true;
    this.upkeep.stop();
    this.unsubscribeHost?.();
    this.tracker.wakeAll();
    await Promise.all([...this.ctx.providers.values()].map((p) => p.close?.()));
    await this.ctx.store.close();
  }

  // ---- checks ---------------------------------------------------------------------

  private async owned(owner: string, id: string): Promise<ComputeRecord> {
    const record = await this.ctx.store.getCompute(id);
    if (!record || record.owner !== owner) throw new PyfleetError("not_found", `no compute "${id}"`);
    return record;
  }

  /** The budget check of one spawn, run by the store on the owner's live computes inside the spawn's transaction; undefined without a budget. */
  private admitter(owner: string, addedCost: number): ((live: ComputeRecord[]) => void) | undefined {
    const budget = this.ctx.options.budgetFor?.(owner);
    if (!budget) return undefined;
    return (all) => checkBudget(owner, budget, addedCost, all.filter((c) => COSTLY(c.status)));
  }
}
