import { create, fromJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { durationMs, timestampNow, type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import { type Capabilities, CapabilitiesSchema, type GpuType, type Job, JobSchema, type JobSpec, JobStatus, type Machine, MachineSchema, type MachineSpec, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { execa, type ResultPromise } from "execa";
import { PyfleetError } from "../../errors.js";
import type { Logger } from "../../log/index.js";
import { gpuCatalog, resolveGpu } from "../gpus.js";
import type { JobEvent, ListFilter, Provider } from "../provider.js";
import { machineMatches, toJsonValue } from "./common.js";

/** Runs tool calls for `local` jobs ("POOL/TOOL" endpoints). */
export interface ToolRunner {
  execute(pool: string, tool: string, args: JsonObject, opts: { signal: AbortSignal; timeoutMs?: number }): Promise<JsonValue>;
  stream(pool: string, tool: string, args: JsonObject, opts: { signal: AbortSignal; timeoutMs?: number }): AsyncIterable<JsonValue>;
}

export interface LocalProviderOptions {
  name?: string;
  /** The Python that worker groups run with. */
  python: string;
  logger: Logger;
  toolRunner?: ToolRunner;
}

/**
 * Runs `count` copies of a command in this process group, and kills the
 * whole group when stdin (a pipe from the server) closes: a local compute
 * never outlives the server, whatever it runs.
 */
const SUPERVISOR = `n=$1; shift
exec 3<&0
( cat <&3 >/dev/null; kill -KILL 0 ) &
watcher=$!
i=0; pids=""
while [ "$i" -lt "$n" ]; do "$@" <&3 & pids="$pids $!"; i=$((i+1)); done
status=0
for p in $pids; do wait "$p" || status=$?; done
kill "$watcher" 2>/dev/null
exit "$status"`;

interface LocalMachine {
  machine: Machine;
  spec: MachineSpec;
  child: ResultPromise | undefined;
  /** Set while pyfleet itself is stopping the group. */
  stopping: boolean;
}

interface LocalJob {
  job: Job;
  outputs: JsonValue[];
  abort: AbortController;
  done: Promise<void>;
}

/**
 * Computes as local process groups, so the whole compute flow works on one
 * machine with no cloud: a compute runs a command, an idle placeholder, or a
 * group of pyfleet workers that dial into this server and join a pool. Jobs
 * run as tool calls on a pool ("POOL/TOOL").
 */
export class LocalProvider implements Provider {
  readonly kind = "local";
  readonly probesPorts = true;
  readonly name: string;
  private readonly machines = new Map<string, LocalMachine>();
  private readonly byRequest = new Map<string, string>();
  private readonly jobs = new Map<string, LocalJob>();
  private seq = 0;
  private readonly catalog = gpuCatalog();

  constructor(private readonly options: LocalProviderOptions) {
    this.name = options.name ?? "local";
  }

  async capabilities(): Promise<Capabilities> {
    const jobs = this.options.toolRunner !== undefined;
    return create(CapabilitiesSchema, { stopStart: true, spot: false, jobs, jobStreaming: jobs, ports: true, volumes: false, workerGroups: true, reset: false });
  }

  async spawn(spec: MachineSpec, requestId: string): Promise<Machine> {
    const existing = requestId ? this.byRequest.get(requestId) : undefined;
    if (existing) return this.machines.get(existing)!.machine;
    if (spec.spot) throw new PyfleetError("unimplemented", `provider "${this.name}" has no spot machines`);
    if (spec.volumes.length > 0) throw new PyfleetError("unimplemented", `provider "${this.name}" cannot attach volumes`);
    const gpu = resolveGpu(spec.gpu, this.catalog, this.name);
    const id = `local-${process.pid}-${++this.seq}`;
    const machine = create(MachineSchema, {
      id,
      status: MachineStatus.PROVISIONING,
      name: spec.name || id,
      gpuType: gpu?.id ?? "",
      gpuCount: gpu ? spec.gpuCount || 1 : 0,
      costPerHour: 0,
      endpoints: spec.ports.map((p) => ({
        port: p.port,
        protocol: p.protocol || "http",
        url: (p.protocol || "http") === "http" ? `http://127.0.0.1:${p.port}` : "",
        host: "127.0.0.1",
        publicPort: p.port,
      })),
      labels: { ...spec.labels },
      createdAt: timestampNow(),
      region: "local",
      image: spec.image,
    });
    const local: LocalMachine = { machine, spec, child: undefined, stopping: false };
    this.machines.set(id, local);
    if (requestId) this.byRequest.set(requestId, id);
    this.run(local);
    return machine;
  }

  async get(id: string): Promise<Machine> {
    return this.find(id).machine;
  }

  async list(filter: ListFilter = {}): Promise<Machine[]> {
    return [...this.machines.values()].map((m) => m.machine).filter((m) => machineMatches(m, filter));
  }

  async stop(id: string): Promise<Machine> {
    const local = this.find(id);
    if (local.machine.status === MachineStatus.TERMINATED) throw new PyfleetError("failed_precondition", `machine "${id}" is terminated and cannot stop`);
    await this.kill(local);
    local.machine.status = MachineStatus.STOPPED;
    return local.machine;
  }

  async start(id: string): Promise<Machine> {
    const local = this.find(id);
    if (local.machine.status === MachineStatus.TERMINATED) throw new PyfleetError("failed_precondition", `machine "${id}" is terminated and cannot start`);
    if (local.machine.status !== MachineStatus.RUNNING) this.run(local);
    return local.machine;
  }

  async terminate(id: string): Promise<Machine> {
    const local = this.find(id);
    if (local.machine.status !== MachineStatus.TERMINATED) {
      await this.kill(local);
      local.machine.status = MachineStatus.TERMINATED;
    }
    return local.machine;
  }

  async gpuTypes(): Promise<GpuType[]> {
    return this.catalog;
  }

  async runJob(spec: JobSpec): Promise<Job> {
    const runner = this.options.toolRunner;
    if (!runner) throw new PyfleetError("unimplemented", `provider "${this.name}" runs no jobs here (no pools)`);
    const [pool, tool, ...rest] = spec.endpoint.split("/");
    if (!pool || !tool || rest.length > 0) {
      throw new PyfleetError("invalid_argument", `endpoint must be "POOL/TOOL" on provider "${this.name}" (got "${spec.endpoint}")`);
    }
    const input = toJsonValue(spec.input);
    const args = input === null ? {} : input;
    if (typeof args !== "object" || Array.isArray(args)) {
      throw new PyfleetError("invalid_argument", "input must be an object of the tool's arguments");
    }
    const id = `local-job-${process.pid}-${++this.seq}`;
    const job = create(JobSchema, { id, endpoint: spec.endpoint, status: JobStatus.RUNNING, input: spec.input, createdAt: timestampNow() });
    const abort = new AbortController();
    const timeoutMs = spec.timeout ? durationMs(spec.timeout) : undefined;
    const local: LocalJob = { job, outputs: [], abort, done: Promise.resolve() };
    local.done = (async () => {
      try {
        const opts = { signal: abort.signal, timeoutMs: timeoutMs || undefined };
        const value = await runner.execute(pool, tool, args, opts).catch(async (e: unknown) => {
          // A streaming tool: run it as a stream and keep the chunks as partial outputs.
          if (e instanceof PyfleetError && e.code === "invalid_argument" && e.message.includes("streams")) {
            for await (const chunk of runner.stream(pool, tool, args, opts)) local.outputs.push(chunk);
            return local.outputs as JsonValue;
          }
          throw e;
        });
        job.output = fromJson(ValueSchema, value);
        job.status = JobStatus.COMPLETED;
      } catch (e) {
        const err = e instanceof PyfleetError ? e : new PyfleetError("internal", String(e));
        job.status = err.code === "canceled" ? JobStatus.CANCELLED : err.code === "deadline_exceeded" ? JobStatus.TIMED_OUT : JobStatus.FAILED;
        job.error = err.message;
      }
      job.finishedAt = timestampNow();
    })();
    this.jobs.set(id, local);
    return job;
  }

  async getJob(id: string): Promise<Job> {
    return this.findJob(id).job;
  }

  async cancelJob(id: string): Promise<Job> {
    const local = this.findJob(id);
    if (local.job.status === JobStatus.RUNNING || local.job.status === JobStatus.QUEUED) {
      local.abort.abort(new PyfleetError("canceled", "the job was cancelled"));
      await local.done;
    }
    return local.job;
  }

  async *streamJob(id: string, signal: AbortSignal): AsyncGenerator<JobEvent> {
    const local = this.findJob(id);
    await Promise.race([local.done, new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }))]);
    for (const output of local.outputs) yield { output };
    if (local.outputs.length === 0 && local.job.status === JobStatus.COMPLETED) yield { output: toJsonValue(local.job.output as Value) };
    yield { job: local.job };
  }

  async reset(): Promise<void> {
    throw new PyfleetError("unimplemented", `provider "${this.name}" has no reset; terminate its computes instead`);
  }

  async close(): Promise<void> {
    await Promise.all([...this.machines.values()].map((m) => this.kill(m)));
  }

  /** Starts the machine's process group. */
  private run(local: LocalMachine) {
    const { spec, machine } = local;
    const workers = spec.workers;
    let count = 1;
    let command: string[];
    if (workers) {
      count = Math.max(1, workers.count || 1);
      // The token travels in the environment (PYFLEET_WORKER_TOKEN), never on a command line `ps` shows.
      command = [this.options.python, "-m", "pyfleet_bridge.worker", "--adapter", workers.adapter, "--connect", workers.serverUrl, "--pool", workers.pool];
    } else if (spec.command.length > 0) {
      command = spec.command;
    } else {
      command = ["tail", "-f", "/dev/null"];
    }
    const child = execa("sh", ["-c", SUPERVISOR, "pyfleet-local", String(count), ...command], {
      detached: true,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      buffer: false,
      reject: false,
      cleanup: true,
      env: { ...spec.env, PYFLEET_WATCH_STDIN: "1", PYFLEET_COMPUTE_ID: machine.labels["pyfleet.compute-id"] ?? "", PYFLEET_WORKER_TOKEN: workers?.token },
    });
    child.stdin?.on("error", () => {});
    const log = this.options.logger.child({ provider: this.name, machine: machine.id });
    child.stdout?.on("data", (b: Buffer) => log.info(b.toString().trimEnd()));
    child.stderr?.on("data", (b: Buffer) => log.warn(b.toString().trimEnd()));
    local.child = child;
    local.stopping = false;
    machine.pids = child.pid ? [child.pid] : [];
    machine.status = MachineStatus.RUNNING;
    machine.message = "";
    void child.then((result) => {
      if (local.child !== child || local.stopping) return;
      machine.status = result.exitCode === 0 ? MachineStatus.STOPPED : MachineStatus.FAILED;
      machine.message = result.signal ? `its processes were killed by ${result.signal}` : `its processes exited with code ${result.exitCode}`;
    });
  }

  /** Stops the group: SIGTERM, then SIGKILL after two seconds. */
  private async kill(local: LocalMachine) {
    const child = local.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    local.stopping = true;
    const pid = child.pid!;
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        // already gone
      }
    };
    signal("SIGTERM");
    const timer = setTimeout(() => signal("SIGKILL"), 2_000);
    await child;
    clearTimeout(timer);
    // The supervisor is gone; make sure nothing it started lingers.
    signal("SIGKILL");
  }

  private find(id: string): LocalMachine {
    const local = this.machines.get(id);
    if (!local) throw new PyfleetError("not_found", `no machine "${id}" at provider "${this.name}"`);
    return local;
  }

  private findJob(id: string): LocalJob {
    const local = this.jobs.get(id);
    if (!local) throw new PyfleetError("not_found", `no job "${id}" at provider "${this.name}"`);
    return local;
  }
}
