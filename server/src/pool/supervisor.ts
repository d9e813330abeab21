// Just over 400 lines on purpose: starting, replacing, recycling and retiring
// workers all change the same worker set and restart pacing; the decisions
// live elsewhere (autoscaler.ts, circuit.ts, start-mode.ts, resources.ts).
import type { ToolSpec } from "@pyfleet/sdk/gen/pyfleet/pool/v1/tool_pb";
import type { Hello, Log } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import { PyfleetError } from "../errors.js";
import { Autoscaler, describeScale, type PoolLoad, type ScaleEvent, type WorkerLoad } from "./autoscaler.js";
import { answerCallback, type CallbackHost } from "./callbacks.js";
import type { PoolCore } from "./core.js";
import type { Link, LinkServer } from "./link/index.js";
import { processLine, workerLine } from "./output.js";
import { spawnPython, type PythonProcess } from "./process.js";
import { GpuSets, workerEnv } from "./resources.js";
import type { Scheduler, SchedulerHooks } from "./scheduler.js";
import { StartMode } from "./start-mode.js";
import { TemplateStartupError } from "./template.js";
import { type ActiveCall, Worker, type WorkerDeath } from "./worker.js";

const RESTART_WINDOW_MS = 10_000;
const MAX_RESTART_DELAY_MS = 1_000;

/**
 * Keeps a pool's workers: starts local ones up to the size it wants (fixed,
 * or what its Autoscaler decides within [minSize, maxSize]), spawned or
 * forked from a template that imported the adapter once (see StartMode); takes in dial-in
 * ones, handles deaths (sessions, the circuit, paced restarts), recycles
 * workers by age, call count or memory, and retires the idle workers its
 * autoscaler picks.
 */
export class Supervisor implements SchedulerHooks {
  /** How workers start, and the fork template. */
  private readonly start: StartMode;
  private workerSeq = 0;
  /** Link tokens of local workers, revoked when they die. */
  private readonly tokens = new Map<string, () => void>();
  private readonly recentRestarts: number[] = [];
  private ensureTimer: NodeJS.Timeout | undefined;
  /** A pool with `gpus`: which worker holds which devices. */
  private readonly gpuSets: GpuSets | undefined;
  /** Local workers the pool keeps: minSize at first, then what the autoscaler decides (size for a fixed pool). */
  desired: number;
  private readonly autoscaler: Autoscaler | undefined;
  /** Workers retired by the autoscaler: their exit is no restart. */
  private readonly retiring = new Set<string>();
  private evaluation: NodeJS.Immediate | undefined;
  private templateWarmed = false;

  constructor(
    private readonly core: PoolCore,
    private readonly scheduler: Scheduler,
    private readonly linkServer: LinkServer,
    private readonly callbackHost: CallbackHost,
  ) {
    this.desired = core.config.minSize;
    if (core.config.autoscale) this.autoscaler = new Autoscaler(core.config, { recheck: () => this.evaluate() });
    if (core.config.gpus) this.gpuSets = new GpuSets(core.config.gpus, core.config.gpusPerWorker);
    this.start = new StartMode(core, linkServer, {
      spawnTemplate: (templateId, token) => this.spawnWorker(templateId, token, true),
      output: (templateId, line, stream) => this.onProcessOutput(templateId, line, stream),
      tools: (tools) => this.setTools(tools),
      decided: () => this.ensureWorkers(),
    });
  }

  /** The start mode as configured, and for "auto" what it decided. */
  get startModeInUse(): string {
    return this.start.inUse;
  }

  /** Process ids of the pool's local processes (workers and fork template). */
  localPids(): number[] {
    const pids = [...this.core.workers.values()].filter((w) => !w.remote && w.pid > 0).map((w) => w.pid);
    const template = this.start.template;
    if (template?.alive) pids.push(template.pid);
    return pids;
  }

  /** Starts local workers until the pool has `desired` of them (respecting startup concurrency and the circuit). */
  ensureWorkers(): void {
    const { config, circuit } = this.core;
    if (this.core.closing || circuit.open) return;
    let local = 0;
    let starting = 0;
    for (const w of this.core.workers.values()) {
      if (w.remote) continue;
      if (w.state === "starting") starting++;
      if (w.state !== "draining" && w.state !== "dead") local++;
    }
    const target = circuit.state === "probing" ? Math.min(1, this.desired) : this.desired;
    // An autoscaling pool starts its fork template at once, even with no
    // worker to start yet, so growing (from zero too) is a fork, not an import.
    if (config.autoscale && this.start.mode === "fork" && !this.templateWarmed) {
      this.templateWarmed = true;
      // A template that cannot start fails the workers forked from it, which report why.
      this.start.ensureTemplate().catch(() => undefined);
    }
    if ((local < target || config.autoscale) && this.start.mode === undefined) {
      this.start.decide();
      return;
    }
    // A GPU pool starts a worker only with a free GPU set: a recycled worker's
    // replacement waits for its draining predecessor to exit rather than share.
    while (local < target && starting < config.startupConcurrency && (this.gpuSets?.available ?? 1) > 0) {
      local++;
      starting++;
      this.startWorker();
    }
  }

  /** Adds a worker that dialed in; see Pool.attachRemote. */
  attachRemote(hello: Hello, link: Link, group: string | undefined): Worker {
    const worker = this.newWorker(this.nextWorkerId(), { remote: true, group });
    worker.attach(hello, link);
    this.core.emit("worker.starting", { workerId: worker.id, pid: worker.pid, message: `remote worker from ${hello.hostname || "unknown host"}` });
    return worker;
  }

  /** The circuit opened: say so, and fail calls nothing can run. */
  onCircuitOpen(): void {
    this.core.emit("circuit.open", { message: this.core.circuit.lastError });
    this.scheduler.failQueueIfStalled();
  }

  /** A call ended on `worker`: recycle it once it has served maxCallsPerWorker. */
  callEnded(worker: Worker): void {
    const max = this.core.config.maxCallsPerWorker;
    if (max > 0 && worker.callsDone >= max && !worker.remote) {
      this.recycle(worker, `served ${worker.callsDone} calls (maxCallsPerWorker)`);
    }
  }

  /** Stops every worker and the template (calls are settled already). */
  async stop(graceMs: number): Promise<void> {
    clearTimeout(this.ensureTimer);
    clearImmediate(this.evaluation);
    this.autoscaler?.stop();
    await Promise.all([...this.core.workers.values()].map((w) => w.shutdown(Math.min(1_000, graceMs))));
    await this.start.stop();
  }

  /**
   * Starts a Python worker process (or, with `template`, the fork template)
   * that presents `token`: the one place a local worker's command line and
   * environment are made.
   */
  private spawnWorker(workerId: string, token: string, template: boolean, gpus?: string[]): PythonProcess {
    const { config } = this.core;
    return spawnPython({
      python: config.python,
      args: ["-m", "pyfleet_bridge.worker", "--adapter", config.adapter, "--socket", this.linkServer.path,
        "--worker-id", workerId, "--concurrency", String(config.concurrency), ...(template ? ["--template"] : [])],
      env: workerEnv(config, gpus, token),
      cwd: config.cwd,
      onOutput: (line, stream) => this.onProcessOutput(workerId, line, stream),
    });
  }

  private startWorker() {
    if (this.start.mode === "fork") {
      void this.startForkedWorker();
      return;
    }
    let worker: Worker | undefined;
    const issued = this.linkServer.issue((hello, link) => worker?.attach(hello, link));
    const workerId = this.nextWorkerId();
    const gpus = this.gpuSets?.take(workerId);
    const proc = this.spawnWorker(workerId, issued.token, false, gpus);
    worker = this.newWorker(workerId, { process: proc });
    // Revoked once the worker is dead, not when its process exits: its Hello
    // (and why it failed) may still be unread.
    this.tokens.set(worker.id, issued.revoke);
    this.core.emit("worker.starting", { workerId: worker.id, pid: proc.pid, message: gpus && `CUDA_VISIBLE_DEVICES=${gpus.join(",")}` });
  }

  private async startForkedWorker() {
    // Reserve the slot synchronously so ensureWorkers counts it.
    const worker = this.newWorker(this.nextWorkerId(), { forked: true });
    this.core.emit("worker.starting", { workerId: worker.id });
    try {
      const template = await this.start.ensureTemplate();
      if (worker.state === "dead") return;
      const issued = this.linkServer.issue((hello, link) => worker.attach(hello, link));
      this.tokens.set(worker.id, issued.revoke);
      template.fork(issued.token, worker.id);
    } catch (e) {
      // SIGKILLed while it started (an operator, the OOM killer): not the adapter's failure.
      if (e instanceof TemplateStartupError && e.exit.signal === "SIGKILL") {
        worker.forkLost(e.message);
        return;
      }
      const failure = e instanceof TemplateStartupError ? e.startupFailure : undefined;
      worker.kill(e instanceof Error ? e.message : String(e));
      if (failure) this.recordStartupFailure(describeStartupFailure(failure.phase, failure.type, failure.message, "fork template"));
    }
  }

  private nextWorkerId(): string {
    return `${this.core.name}-${++this.workerSeq}`;
  }

  private newWorker(id: string, how: { remote?: boolean; group?: string | undefined; process?: PythonProcess; forked?: boolean }): Worker {
    const { config } = this.core;
    const scheduler = this.scheduler;
    const worker = new Worker({
      id,
      pool: this.core.name,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      heartbeatMisses: config.heartbeatMisses,
      cancelGraceMs: config.cancelGraceMs,
      startupTimeoutMs: config.startupTimeoutMs,
      prefetch: config.prefetch,
      prefetchStealMs: config.prefetchStealMs,
      process: how.process,
      forkedExit: how.forked ? (pid: number) => this.start.template?.childExit(pid) ?? Promise.resolve(undefined) : undefined,
      remote: how.remote,
      group: how.group,
      hooks: {
        ready: (w) => this.onWorkerReady(w),
        capacity: (w) => {
          scheduler.pump();
          scheduler.checkIdle();
          this.retireIfDrained(w);
          this.loadChanged();
        },
        died: (w, death) => this.onWorkerDied(w, death),
        callback: (_w, call, frame, reply) => answerCallback(this.callbackHost, call, frame, reply),
        log: (w, frame, call) => this.onWorkerLog(w, frame, call),
        pong: (w) => {
          if (config.maxWorkerRssMb > 0 && w.rssBytes > config.maxWorkerRssMb * 1024 * 1024) {
            this.recycle(w, `uses ${Math.round(w.rssBytes / 1048576)} MiB (maxWorkerRssMb ${config.maxWorkerRssMb})`);
          }
        },
      },
    });
    this.core.workers.set(id, worker);
    return worker;
  }

  private onWorkerReady(worker: Worker) {
    const { config } = this.core;
    this.start.template?.forking.delete(worker.id);
    this.setTools(worker.tools);
    if (this.core.circuit.succeeded()) {
      this.core.emit("circuit.closed", { workerId: worker.id, message: "a worker started; calls flow again" });
    }
    if (config.maxWorkerAgeMs > 0 && !worker.remote) {
      setTimeout(() => this.recycle(worker, `reached maxWorkerAgeMs ${config.maxWorkerAgeMs}`), config.maxWorkerAgeMs).unref();
    }
    this.core.emit("worker.ready", { workerId: worker.id, pid: worker.pid, group: worker.group });
    this.ensureWorkers();
    this.scheduler.pump();
    this.loadChanged();
  }

  private setTools(tools: ToolSpec[]) {
    this.core.tools = new Map(tools.map((t) => [t.name, t]));
  }

  private onWorkerDied(worker: Worker, death: WorkerDeath) {
    const core = this.core;
    core.workers.delete(worker.id);
    this.gpuSets?.release(worker.id);
    this.start.template?.forking.delete(worker.id);
    this.tokens.get(worker.id)?.();
    this.tokens.delete(worker.id);
    const time = Date.now();
    for (const session of core.sessions.takePinned(worker.id)) {
      if (session.affinity === "hint") {
        session.workerId = undefined;
        session.stateLostAt = time;
        session.repinPending = true;
      } else {
        session.broken = true;
      }
    }
    // Strict sessions waiting for this worker will never get it.
    this.scheduler.failQueued((call) => call.session?.broken
      ? new PyfleetError("unavailable", `session "${call.session.id}" lost its worker ${worker.id} (${death.reason}); create a new session`)
      : undefined);
    const stderr = worker.stderrTail();
    // Retired by the autoscaler: its scale.down event announced it, and it is not replaced.
    const retired = this.retiring.delete(worker.id);
    if (retired) {
      core.logger.debug({ worker: worker.id, reason: death.reason }, `worker ${worker.id} retired (autoscaling)`);
    } else if (death.expected && !worker.remote) {
      if (!core.closing) core.emit("worker.recycled", { workerId: worker.id, pid: worker.pid, message: death.reason, group: worker.group });
    } else {
      core.emit("worker.died", { workerId: worker.id, pid: worker.pid, message: death.reason, group: worker.group });
      if (!core.closing && !death.expected) core.logger.warn({ worker: worker.id, pid: worker.pid, reason: death.reason, stderr }, `worker ${worker.id} died: ${death.reason}`);
    }
    // SIGKILL is never the adapter's own doing (an operator, a supervisor or the
    // OOM killer sent it), so it does not count toward the circuit; restarts
    // are still paced by restartIntensity.
    if (death.duringStartup && !death.expected && !worker.remote && death.exit?.signal !== "SIGKILL") {
      const f = death.startupFailure;
      this.recordStartupFailure(f ? describeStartupFailure(f.phase, f.type, f.message, `worker ${worker.id}`) : `worker ${worker.id} ${death.reason} before it was ready`);
    }
    if (!worker.remote && !core.closing && !retired) {
      core.counters.restarts++;
      this.scheduleEnsure(this.restartDelay());
    }
    this.scheduler.failQueueIfStalled();
    this.scheduler.pump();
    this.scheduler.checkIdle();
  }

  /**
   * Calls came or ended, or a worker changed: an autoscaling pool looks at
   * its load once this turn of the event loop is over (one look however many
   * calls arrived in it).
   */
  loadChanged(): void {
    if (!this.autoscaler || this.evaluation || this.core.closing) return;
    this.evaluation = setImmediate(() => {
      this.evaluation = undefined;
      this.evaluate();
    });
  }

  /** Asks the autoscaler and carries out its decision. */
  private evaluate() {
    const autoscaler = this.autoscaler;
    if (!autoscaler || this.core.closing) return;
    const decision = autoscaler.decide(this.load());
    if (decision.action === "up") {
      this.desired = decision.toWorkers;
      this.announce("up", decision);
      this.ensureWorkers();
    } else if (decision.action === "down") {
      let from = decision.fromWorkers;
      for (const id of decision.retire) {
        const worker = this.core.workers.get(id);
        if (!worker) continue;
        this.desired = from - 1;
        this.announce("down", { ...decision, fromWorkers: from, toWorkers: from - 1 }, worker.id, worker.pid);
        from--;
        this.retiring.add(worker.id);
        void worker.shutdown(this.core.config.cancelGraceMs);
      }
    }
  }

  private load(): PoolLoad {
    const sessions = this.core.sessions;
    const workers: WorkerLoad[] = [];
    let inFlight = 0;
    for (const w of this.core.workers.values()) {
      if (w.remote || w.state === "draining" || w.state === "dead") continue;
      inFlight += w.inFlight;
      workers.push({ id: w.id, starting: w.state === "starting", idleSince: w.idleSince, sessions: sessions.pinnedTo(w.id) });
    }
    return { size: this.desired, queued: this.scheduler.queued, inFlight, workers };
  }

  private announce(direction: "up" | "down", d: ScaleEvent, workerId?: string, pid?: number) {
    const scale: ScaleEvent = { reason: d.reason, fromWorkers: d.fromWorkers, toWorkers: d.toWorkers, queueDepth: d.queueDepth, inFlight: d.inFlight };
    const message = describeScale(scale, this.core.config, workerId);
    this.core.counters.scaled(direction, scale.reason);
    this.core.logger.info({ direction, reason: scale.reason, from: scale.fromWorkers, to: scale.toWorkers, worker: workerId }, message);
    this.core.emit(direction === "up" ? "scale.up" : "scale.down", { workerId, pid, message, scale });
  }

  private recordStartupFailure(description: string) {
    const circuit = this.core.circuit;
    this.core.logger.error({ failures: circuit.failures + 1 }, description);
    circuit.failed(description);
  }

  private restartDelay(): number {
    const t = Date.now();
    this.recentRestarts.push(t);
    while (this.recentRestarts.length > 0 && this.recentRestarts[0]! < t - RESTART_WINDOW_MS) this.recentRestarts.shift();
    const excess = this.recentRestarts.length - this.core.config.restartIntensity;
    if (excess <= 0) return 0;
    return Math.min(MAX_RESTART_DELAY_MS, this.core.config.restartBackoffMs * 2 ** Math.min(excess, 10));
  }

  private scheduleEnsure(delayMs: number) {
    if (delayMs <= 0) {
      this.ensureWorkers();
      return;
    }
    if (this.ensureTimer) return;
    this.ensureTimer = setTimeout(() => {
      this.ensureTimer = undefined;
      this.ensureWorkers();
    }, delayMs);
    this.ensureTimer.unref();
  }

  private recycle(worker: Worker, reason: string) {
    if (worker.state === "dead" || worker.state === "draining" || this.core.closing) return;
    this.core.logger.info({ worker: worker.id, reason }, `recycling worker ${worker.id}: ${reason}`);
    worker.drain();
    this.ensureWorkers();
    this.retireIfDrained(worker);
  }

  private retireIfDrained(worker: Worker) {
    if (worker.state === "draining" && worker.inFlight === 0 && !this.core.closing) {
      void worker.shutdown(this.core.config.cancelGraceMs);
    }
  }

  private onWorkerLog(worker: Worker, frame: Log, call: ActiveCall | undefined) {
    workerLine(this.core, worker, frame, call);
  }

  private onProcessOutput(workerId: string, line: string, stream: "stdout" | "stderr") {
    processLine(this.core, workerId, line, stream);
  }
}

function describeStartupFailure(phase: string, type: string, message: string, who: string): string {
  return `${who} failed to ${phase === "setup" ? "run setup()" : "import the adapter"}: ${type}: ${message}`;
}
