import { EventEmitter, on } from "node:events";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { ToolSpec } from "@pyfleet/sdk/gen/pyfleet/pool/v1/tool_pb";
import type { Hello } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import { PyfleetError } from "../errors.js";
import type { Logger } from "../log/index.js";
import type { LogSink } from "../logs/index.js";
import { type CallResult, type ExecuteOptions, ResultOutcome, type ToolStream } from "./calls.js";
import type { PoolConfig } from "./config.js";
import { PoolCore } from "./core.js";
import type { PoolEvent } from "./events.js";
import { type Link, LinkServer } from "./link/index.js";
import { Scheduler } from "./scheduler.js";
import { type CreateSessionInput, type SessionRecord, SessionStore, type SetVariableInput, type VariableChange } from "./sessions/index.js";
import type { CallObserver, PoolStatsSnapshot, WorkerSummary } from "./stats.js";
import { openStream } from "./stream.js";
import { Supervisor } from "./supervisor.js";
import type { Worker } from "./worker.js";

export interface PoolDeps {
  logger: Logger;
  /** The link socket; a pool made without one starts its own. */
  linkServer?: LinkServer;
  /** Where workers' output goes as records (the server's LogHub); default: the server's log only. */
  logs?: LogSink;
}

/**
 * A pool of Python workers running one adapter: it starts and restarts
 * them, queues and routes calls, pins sessions, retries idempotent calls
 * when a worker dies, and stops everything on close. It works without any
 * RPC layer. This class is the facade: the work is done by its rooms, the
 * Scheduler (calls), the Supervisor (workers), the CircuitBreaker and the
 * callbacks, which share a PoolCore.
 */
export class Pool {
  readonly name: string;
  /** Emits each PoolEvent under its kind ("worker.died", ...) and under "event". */
  readonly events = new EventEmitter();

  private readonly core: PoolCore;
  private readonly sessions: SessionStore;
  private readonly scheduler: Scheduler;
  private readonly supervisor: Supervisor;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly ownsLinkServer: boolean;
  private closed = false;
  private closedPromise: Promise<void> = Promise.resolve();

  private constructor(
    readonly config: PoolConfig,
    private readonly linkServer: LinkServer,
    deps: PoolDeps,
  ) {
    this.name = config.name;
    this.ownsLinkServer = !deps.linkServer;
    this.events.setMaxListeners(0);
    this.sessions = new SessionStore(config.name, {
      maxSessions: config.maxSessions,
      defaultTtlMs: config.sessionTtlMs,
      maxVariables: config.maxVariables,
      maxVariableBytes: config.maxVariableBytes,
    }, (session) => {
      if (session.workerId) this.core.workers.get(session.workerId)?.releaseSession(session.key);
      // Its worker may now be free to retire.
      this.supervisor.loadChanged();
    });
    this.core = new PoolCore(config, deps.logger.child({ pool: config.name }), this.events, this.sessions, {
      opened: () => this.supervisor.onCircuitOpen(),
      probe: () => this.supervisor.ensureWorkers(),
    }, deps.logs);
    // The scheduler tells the supervisor when calls end (recycling); the supervisor drives the scheduler.
    let supervisor: Supervisor | undefined;
    this.scheduler = new Scheduler(this.core, {
      callEnded: (worker) => supervisor!.callEnded(worker),
      loadChanged: () => supervisor!.loadChanged(),
    });
    supervisor = new Supervisor(this.core, this.scheduler, linkServer, {
      sessions: this.sessions,
      call: (tool, args, options) => this.call(tool, args, options),
    });
    this.supervisor = supervisor;
    this.sweepTimer = setInterval(() => this.sessions.sweep(), config.sessionSweepMs);
    this.sweepTimer.unref();
  }

  /** Creates the pool and starts its workers; `ready()` tells when they are up. */
  static async create(config: PoolConfig, deps: PoolDeps): Promise<Pool> {
    const linkServer = deps.linkServer ?? (await LinkServer.start());
    const pool = new Pool(config, linkServer, deps);
    pool.supervisor.ensureWorkers();
    return pool;
  }

  /** Resolves when `minSize` workers are ready (`size` for a fixed pool); rejects if the pool cannot start them. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.core.circuit.open) {
          cleanup();
          reject(this.core.circuitError());
        } else if (this.closed) {
          cleanup();
          reject(new PyfleetError("unavailable", `pool "${this.name}" is closed`));
        } else if (this.core.countServing() >= this.config.minSize) {
          cleanup();
          resolve();
        }
      };
      const cleanup = () => {
        this.events.off("event", check);
      };
      this.events.on("event", check);
      check();
    });
  }

  /** The tools the workers registered (empty until the first worker is ready). */
  tools(): ToolSpec[] {
    return [...this.core.tools.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Runs a tool and returns its value (bytes for a tool that returned bytes). */
  async execute(tool: string, args: JsonObject = {}, options: ExecuteOptions = {}): Promise<JsonValue | Uint8Array> {
    const result = await this.call(tool, args, options);
    return result.binary ?? result.value;
  }

  /** Runs a tool and returns its value with where and how it ran. */
  call(tool: string, args: JsonObject = {}, options: ExecuteOptions = {}): Promise<CallResult> {
    return new Promise<CallResult>((resolve, reject) => {
      this.scheduler.submit(tool, args, options, false, new ResultOutcome(resolve, reject));
    });
  }

  /**
   * Runs a generator tool and yields its chunks, then one "done" event.
   * Leaving the loop early (or aborting `signal`) stops the Python generator.
   * At most `chunkWindow` chunks are buffered: a slow reader slows Python down.
   */
  executeStream(tool: string, args: JsonObject = {}, options: ExecuteOptions = {}): ToolStream {
    return openStream(this.scheduler, this.config.chunkWindow, tool, args, options);
  }

  // ---- sessions -------------------------------------------------------------

  createSession(input: Omit<CreateSessionInput, "owner"> & { owner?: string }): SessionRecord {
    this.core.assertOpen();
    return this.sessions.create({ ...input, owner: input.owner ?? "" });
  }

  getSession(id: string, owner = ""): SessionRecord {
    return this.sessions.get(id, owner);
  }

  /** The tenant's session with this id, or undefined (for routing by id). */
  findSession(id: string, owner = ""): SessionRecord | undefined {
    return this.sessions.find(id, owner);
  }

  listSessions(owner = "", pageSize = 100, pageToken = ""): { sessions: SessionRecord[]; nextPageToken: string } {
    return this.sessions.list(owner, pageSize, pageToken);
  }

  /** The tenant's sessions, newest first. */
  sessionsOf(owner = ""): SessionRecord[] {
    return this.sessions.owned(owner);
  }

  deleteSession(id: string, owner = ""): void {
    this.sessions.delete(id, owner);
  }

  setVariable(sessionId: string, input: SetVariableInput, owner = "", updatedBy = "client") {
    return this.variables(sessionId, owner).set(input, updatedBy);
  }

  getVariable(sessionId: string, name: string, owner = "") {
    return this.variables(sessionId, owner).get(name);
  }

  listVariables(sessionId: string, owner = "") {
    return this.variables(sessionId, owner).list();
  }

  deleteVariable(sessionId: string, name: string, owner = "", expectedVersion?: bigint) {
    return this.variables(sessionId, owner).delete(name, expectedVersion);
  }

  watchVariables(sessionId: string, options: { names?: string[]; includeInitial?: boolean; signal: AbortSignal; owner?: string }): AsyncIterable<VariableChange> {
    return this.variables(sessionId, options.owner ?? "").watch(options.names ?? [], options.includeInitial ?? false, options.signal);
  }

  private variables(sessionId: string, owner: string) {
    return this.sessions.variables(this.core.useSession(sessionId, owner));
  }

  // ---- workers from elsewhere -------------------------------------------------

  /**
   * Adds a worker that dialed in (WorkerLinkService.Attach). It serves calls
   * like a local one once it sends Ready; when its link drops its calls fail
   * over as on a crash, and it is not restarted (the remote side reconnects).
   */
  attachRemote(hello: Hello, link: Link, group?: string): Worker {
    this.core.assertOpen();
    return this.supervisor.attachRemote(hello, link, group);
  }

  /** Disconnects every worker attached with `group` (their calls fail over). */
  detachGroup(group: string, reason: string): void {
    this.scheduler.groupActive.delete(group);
    for (const worker of this.core.workers.values()) {
      if (worker.group === group) worker.kill(reason, true);
    }
  }

  /** When a worker of `group` last took a call (ms since epoch), if ever. */
  groupActivity(group: string): number | undefined {
    return this.scheduler.groupActive.get(group);
  }

  /** Workers attached with `group` that are ready or busy. */
  countGroup(group: string): number {
    return this.core.countServing(group);
  }

  // ---- what it is doing -------------------------------------------------------

  /** The start mode as configured, and for "auto" what it decided. */
  get startModeInUse(): string {
    return this.supervisor.startModeInUse;
  }

  /** Process ids of the pool's local processes (workers and fork template). */
  localPids(): number[] {
    return this.supervisor.localPids();
  }

  workerSummaries(): WorkerSummary[] {
    return [...this.core.workers.values()].map((w) => ({
      id: w.id,
      pid: w.pid,
      state: w.state,
      remote: w.remote,
      group: w.group,
      hostname: w.hostname,
      inFlight: w.inFlight,
      callsDone: w.callsDone,
      rssBytes: w.rssBytes,
    }));
  }

  /** Tells `observer` of every call a worker runs (for metrics); one observer per pool. */
  observeCalls(observer: CallObserver | undefined): void {
    this.core.counters.observer = observer;
  }

  /** Yields pool events until `signal` aborts. */
  async *watch(signal: AbortSignal): AsyncGenerator<PoolEvent> {
    try {
      for await (const [event] of on(this.events, "event", { signal })) yield event as PoolEvent;
    } catch (e) {
      if (!signal.aborted) throw e;
    }
  }

  stats(): PoolStatsSnapshot {
    const counts = { starting: 0, ready: 0, busy: 0, draining: 0, remote: 0 };
    for (const w of this.core.workers.values()) {
      if (w.state !== "dead") counts[w.state]++;
      if (w.remote && w.state !== "dead") counts.remote++;
    }
    const counters = this.core.counters;
    const { p50, p99 } = counters.percentiles();
    return {
      pool: this.name,
      workersStarting: counts.starting,
      workersReady: counts.ready,
      workersBusy: counts.busy,
      workersDraining: counts.draining,
      workersRemote: counts.remote,
      queueDepth: this.scheduler.queued,
      inFlight: this.scheduler.inFlight,
      restarts: counters.restarts,
      retries: counters.retries,
      callsTotal: counters.callsTotal,
      errorsByCode: Object.fromEntries(counters.errorsByCode),
      sessions: this.sessions.size,
      latencyP50Ms: p50,
      latencyP99Ms: p99,
      circuitOpen: this.core.circuit.state !== "closed",
      workersDesired: this.supervisor.desired,
      scaleEvents: Object.fromEntries(counters.scaleEvents),
    };
  }

  /**
   * Stops taking calls, lets queued and running calls finish for up to
   * `graceMs`, fails what is left with UNAVAILABLE, then stops every worker:
   * Shutdown frame, SIGTERM, SIGKILL of each process group.
   */
  async close(graceMs = this.config.shutdownGraceMs): Promise<void> {
    if (this.core.closing) return this.closedPromise;
    this.core.closing = true;
    this.closedPromise = (async () => {
      await this.scheduler.idle(graceMs);
      this.scheduler.failAll(this.core.closingError());
      this.core.circuit.stop();
      this.scheduler.stop();
      clearInterval(this.sweepTimer);
      await this.supervisor.stop(graceMs);
      this.sessions.closeAll();
      if (this.ownsLinkServer) await this.linkServer.close();
      this.closed = true;
      this.events.emit("closed");
    })();
    return this.closedPromise;
  }
}
