import { EventEmitter, on } from "node:events";
import { create } from "@bufbuild/protobuf";
import { timestampNow, ValueSchema } from "@bufbuild/protobuf/wkt";
import { type Capabilities, CapabilitiesSchema, type GpuType, type Job, JobSchema, type JobSpec, JobStatus, type Machine, MachineSchema, type MachineSpec, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { type ErrorCode, PyfleetError } from "../../errors.js";
import { gpuCatalog, resolveGpu } from "../gpus.js";
import type { JobEvent, ListFilter, MachineLogLine, MachineLogOptions, Provider } from "../provider.js";
import { machineMatches, toJsonValue } from "./common.js";

interface MockMachine {
  machine: Machine;
  /** Gets left before a scripted PROVISIONING machine turns RUNNING. */
  provisioningPolls: number;
  /** Its log: a line per lifecycle step, and whatever tests write (writeLog). */
  log: MachineLogLine[];
}

/**
 * An in-memory cloud for tests, yours and ours: deterministic (machines run at
 * once, jobs complete on the next GetJob with their input echoed) and
 * scriptable (fail the next spawn, stay provisioning, preempt, reset).
 */
export class MockProvider implements Provider {
  readonly kind = "mock";
  readonly probesPorts = false;
  private machines = new Map<string, MockMachine>();
  private byRequest = new Map<string, string>();
  private jobs = new Map<string, Job>();
  private jobsByRequest = new Map<string, string>();
  private seq = 0;
  private nextSpawnFailure: PyfleetError | undefined;
  private nextProvisioningPolls = 0;
  private readonly catalog = gpuCatalog();
  /** Emits "line" (machine id) when a machine's log grows. */
  private readonly logEvents = new EventEmitter().setMaxListeners(0);

  constructor(readonly name = "mock") {}

  // ---- scripting for tests ----

  /** The next spawn fails with this code and message. */
  failNextSpawn(code: ErrorCode, message = "the mock provider was told to fail this spawn"): void {
    this.nextSpawnFailure = new PyfleetError(code, message);
  }

  /** The next spawned machine stays PROVISIONING for this many gets. */
  provisionFor(polls: number): void {
    this.nextProvisioningPolls = polls;
  }

  /** Appends a line to a machine's log. */
  writeLog(id: string, text: string, source = "container"): void {
    this.find(id).log.push({ text, time: Date.now(), source });
    this.logEvents.emit("line", id);
  }

  /** Takes a machine away as a spot interruption would. */
  preempt(id: string): Machine {
    const m = this.find(id);
    m.machine.status = MachineStatus.TERMINATED;
    m.machine.message = "preempted: the spot machine was reclaimed";
    return m.machine;
  }

  // ---- the provider contract ----

  async capabilities(): Promise<Capabilities> {
    return create(CapabilitiesSchema, { stopStart: true, spot: true, jobs: true, jobStreaming: true, ports: true, volumes: true, workerGroups: false, reset: true });
  }

  async spawn(spec: MachineSpec, requestId: string): Promise<Machine> {
    const existing = requestId ? this.byRequest.get(requestId) : undefined;
    if (existing) return this.find(existing).machine;
    if (this.nextSpawnFailure) {
      const failure = this.nextSpawnFailure;
      this.nextSpawnFailure = undefined;
      throw failure;
    }
    const gpu = resolveGpu(spec.gpu, this.catalog, this.name);
    const count = gpu ? spec.gpuCount || 1 : 0;
    const id = `mock-${++this.seq}`;
    const polls = this.nextProvisioningPolls;
    this.nextProvisioningPolls = 0;
    const machine = create(MachineSchema, {
      id,
      status: polls > 0 ? MachineStatus.PROVISIONING : MachineStatus.RUNNING,
      name: spec.name || id,
      gpuType: gpu?.id ?? "",
      gpuCount: count,
      costPerHour: gpu ? (spec.spot ? gpu.spotPricePerHour : gpu.pricePerHour) * count : 0,
      endpoints: spec.ports.map((p) => ({
        port: p.port,
        protocol: p.protocol || "http",
        url: (p.protocol || "http") === "http" ? `https://${id}-${p.port}.proxy.mock.invalid` : "",
        host: (p.protocol || "http") === "tcp" ? `${id}.mock.invalid` : "",
        publicPort: (p.protocol || "http") === "tcp" ? 20_000 + p.port : 0,
      })),
      labels: { ...spec.labels },
      createdAt: timestampNow(),
      region: spec.regions[0] ?? "mock-1",
      spot: spec.spot,
      image: spec.image,
    });
    this.machines.set(id, { machine, provisioningPolls: polls, log: [] });
    if (requestId) this.byRequest.set(requestId, id);
    this.writeLog(id, `mock machine ${id} started${spec.image ? ` from ${spec.image}` : ""}`, "system");
    return machine;
  }

  async get(id: string): Promise<Machine> {
    const m = this.find(id);
    if (m.machine.status === MachineStatus.PROVISIONING && --m.provisioningPolls <= 0) {
      m.machine.status = MachineStatus.RUNNING;
    }
    return m.machine;
  }

  async list(filter: ListFilter = {}): Promise<Machine[]> {
    return [...this.machines.values()].map((m) => m.machine).filter((m) => machineMatches(m, filter));
  }

  async stop(id: string): Promise<Machine> {
    const m = this.live(id, "stop");
    m.machine.status = MachineStatus.STOPPED;
    this.writeLog(id, `mock machine ${id} stopped`, "system");
    return m.machine;
  }

  async start(id: string): Promise<Machine> {
    const m = this.live(id, "start");
    m.machine.status = MachineStatus.RUNNING;
    this.writeLog(id, `mock machine ${id} started again`, "system");
    return m.machine;
  }

  async terminate(id: string): Promise<Machine> {
    const m = this.find(id);
    if (m.machine.status !== MachineStatus.TERMINATED) {
      m.machine.status = MachineStatus.TERMINATED;
      this.writeLog(id, `mock machine ${id} terminated`, "system");
    }
    return m.machine;
  }

  /** The newest `tail` lines, then with `follow` each new one until the machine is terminated. */
  async *logs(id: string, options: MachineLogOptions): AsyncGenerator<MachineLogLine[]> {
    const m = this.find(id);
    let next = Math.max(0, m.log.length - options.tail);
    const lines = () => {
      const out = m.log.slice(next);
      next = m.log.length;
      return out;
    };
    // Listening before the first yield: no line falls between the two.
    const events = options.follow ? on(this.logEvents, "line", { signal: options.signal })[Symbol.asyncIterator]() : undefined;
    try {
      const first = lines();
      if (first.length > 0) yield first;
      while (events && m.machine.status !== MachineStatus.TERMINATED) {
        const event = await events.next();
        if (event.done) return;
        const more = lines();
        if (more.length > 0) yield more;
      }
    } catch (e) {
      if (!options.signal.aborted) throw e;
    } finally {
      await events?.return?.();
    }
  }

  async gpuTypes(): Promise<GpuType[]> {
    return this.catalog;
  }

  async runJob(spec: JobSpec): Promise<Job> {
    if (!spec.endpoint) throw new PyfleetError("invalid_argument", "spec.endpoint is required");
    const existing = spec.requestId ? this.jobsByRequest.get(spec.requestId) : undefined;
    if (existing) return this.jobs.get(existing)!;
    const id = `mock-job-${++this.seq}`;
    const job = create(JobSchema, { id, endpoint: spec.endpoint, status: JobStatus.QUEUED, input: spec.input, createdAt: timestampNow() });
    this.jobs.set(id, job);
    if (spec.requestId) this.jobsByRequest.set(spec.requestId, id);
    return job;
  }

  async getJob(id: string): Promise<Job> {
    const job = this.findJob(id);
    if (job.status === JobStatus.QUEUED || job.status === JobStatus.RUNNING) this.complete(job);
    return job;
  }

  async cancelJob(id: string): Promise<Job> {
    const job = this.findJob(id);
    if (job.status === JobStatus.QUEUED || job.status === JobStatus.RUNNING) {
      job.status = JobStatus.CANCELLED;
      job.finishedAt = timestampNow();
    }
    return job;
  }

  async *streamJob(id: string): AsyncGenerator<JobEvent> {
    const job = this.findJob(id);
    if (job.status === JobStatus.QUEUED || job.status === JobStatus.RUNNING) {
      yield { output: toJsonValue(job.input) };
      this.complete(job);
    }
    yield { job };
  }

  async reset(): Promise<void> {
    this.machines.clear();
    this.byRequest.clear();
    this.jobs.clear();
    this.jobsByRequest.clear();
    this.seq = 0;
    this.nextSpawnFailure = undefined;
    this.nextProvisioningPolls = 0;
  }

  private complete(job: Job) {
    job.status = JobStatus.COMPLETED;
    job.output = job.input ?? create(ValueSchema, { kind: { case: "nullValue", value: 0 } });
    job.finishedAt = timestampNow();
  }

  private find(id: string): MockMachine {
    const m = this.machines.get(id);
    if (!m) throw new PyfleetError("not_found", `no machine "${id}" at provider "${this.name}"`);
    return m;
  }

  private live(id: string, action: string): MockMachine {
    const m = this.find(id);
    if (m.machine.status === MachineStatus.TERMINATED) {
      throw new PyfleetError("failed_precondition", `machine "${id}" is terminated and cannot ${action}`);
    }
    return m;
  }

  private findJob(id: string): Job {
    const job = this.jobs.get(id);
    if (!job) throw new PyfleetError("not_found", `no job "${id}" at provider "${this.name}"`);
    return job;
  }
}

