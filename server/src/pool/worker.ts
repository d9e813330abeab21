// Over 400 lines on purpose: a worker is one state machine (its link, the
// calls on it, heartbeats, startup and death) whose parts share private state
// and ordering rules (a death is declared only after the link drained and the
// exit status is known); split up, that state would have to be exposed.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { ToolSpec } from "@pyfleet/sdk/gen/pyfleet/pool/v1/tool_pb";
import {
  type Callback,
  type CallbackResult,
  CallbackResultSchema,
  type Error as ErrorFrame,
  type Hello,
  type Log,
  type Payload,
  ServerFrameSchema,
  type StartupFailed,
  type WorkerFrame,
} from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import { PyfleetError, statusCode } from "../errors.js";
import type { Link } from "./link/index.js";
import { describeExit, type ExitInfo, type PythonProcess, signalGroup } from "./process.js";

export type WorkerState = "starting" | "ready" | "busy" | "draining" | "dead";

/** Why and how a worker ended. */
export interface WorkerDeath {
  /** A sentence for people: "killed by SIGKILL", "missed 3 heartbeats", ... */
  reason: string;
  /** True when the pool asked for it (shutdown, recycling). */
  expected: boolean;
  /** True when it died before it was ready. */
  duringStartup: boolean;
  startupFailure?: StartupFailed;
  exit?: ExitInfo;
}

/** What a running call reports to whoever made it. */
export interface CallSink {
  chunk(items: Payload[]): void;
  result(value: Payload | undefined): void;
  error(frame: ErrorFrame): void;
  /**
   * The worker died (or its link dropped) before the call ended. `queued`:
   * the call was prefetched behind running calls, so it had most likely not
   * started.
   */
  lost(death: WorkerDeath, queued: boolean): void;
}

export interface CallRequest {
  /** False for calls that must stay on this worker (strict sessions): they are never revoked. */
  movable: boolean;
  tool: string;
  args: Uint8Array;
  binaryArgs: Record<string, Uint8Array>;
  sessionId: string;
  timeoutMs: number;
  stream: boolean;
  chunkWindow: number;
  requestId: string;
  /** W3C trace context for the run (see Call.traceparent); "" when tracing is off. */
  traceparent: string;
  tracestate: string;
  /** The tenant making the call ("" without API keys): what its log lines are tagged with. */
  tenant: string;
}

/** A call running on a worker. */
export interface ActiveCall {
  readonly id: number;
  readonly request: CallRequest;
  /** Asks the worker to stop the call; the slot frees when the worker confirms. */
  cancel(reason: string): void;
  /** Lets a streaming call send `chunks` more items. */
  credit(chunks: number): void;
}

/** How a worker tells its pool what happened. */
export interface WorkerHooks {
  ready(worker: Worker): void;
  /** A call ended and its slot is free. */
  capacity(worker: Worker): void;
  died(worker: Worker, death: WorkerDeath): void;
  callback(worker: Worker, call: ActiveCall, frame: Callback, reply: (result: CallbackResult) => void): void;
  log(worker: Worker, frame: Log, call: ActiveCall | undefined): void;
  pong?(worker: Worker): void;
}

export interface WorkerOptions {
  id: string;
  pool: string;
  hooks: WorkerHooks;
  heartbeatIntervalMs: number;
  heartbeatMisses: number;
  cancelGraceMs: number;
  startupTimeoutMs: number;
  /** Calls sent beyond the worker's concurrency (queued in the worker). */
  prefetch: number;
  /** Prefetch only behind running calls younger than this. */
  prefetchStealMs: number;
  /** A local process this worker runs in (spawn mode); absent for forked and remote workers. */
  process?: PythonProcess;
  /** Exit information for a forked worker, reported by its template. */
  forkedExit?: (pid: number) => Promise<ExitInfo | undefined>;
  remote?: boolean;
  /** A tag for dial-in workers, e.g. the compute they belong to. */
  group?: string;
}

interface CallState extends ActiveCall {
  sink: CallSink;
  cancelled: boolean;
  revoking: boolean;
  sentAt: number;
  cancelTimer?: NodeJS.Timeout;
}

/** How long death reporting waits for the process's exit status after its link closed. */
const EXIT_WAIT_MS = 250;
/** How long an exited worker's death waits for its link to be handed over (see onProcessExit). */
const ATTACH_WAIT_MS = 2_000;

/**
 * One Python worker: its link, the calls running on it, its heartbeat. It
 * knows nothing about queues or sessions; the pool drives it.
 */
export class Worker {
  readonly id: string;
  readonly remote: boolean;
  readonly group: string | undefined;
  readonly startedAt = Date.now();
  state: WorkerState = "starting";
  pid = 0;
  hostname = "";
  concurrency = 1;
  tools: ToolSpec[] = [];
  /** Calls finished on this worker (for recycling). */
  callsDone = 0;
  rssBytes = 0;
  readyAt = 0;
  /** Since when (Date.now()) a serving worker has had no call; undefined while it has one (autoscaling retires idle workers). */
  idleSince: number | undefined;

  private link: Link | undefined;
  private readonly calls = new Map<number, CallState>();
  /** Batch tools (`@tool(batch_size=N)`) by name: the calls one invocation runs (from Ready). */
  private batchSizes = new Map<string, number>();
  /** Calls here of each batch tool; the worker gathers them into batches. */
  private readonly batchCalls = new Map<string, number>();
  /** Calls here of tools that do not batch. */
  private plainCalls = 0;
  private nextCallId = 1;
  private heartbeat: NodeJS.Timeout | undefined;
  private startupTimer: NodeJS.Timeout | undefined;
  private pingsOutstanding = 0;
  private nonce = 0;
  private linkClosed = false;
  private deathStarted = false;
  private expectedExit = false;
  private startupFailure: StartupFailed | undefined;

  constructor(private readonly options: WorkerOptions) {
    this.id = options.id;
    this.remote = options.remote ?? false;
    this.group = options.group;
    if (options.process) {
      this.pid = options.process.pid;
      void options.process.exited.then((exit) => this.onProcessExit(exit));
    }
    this.startupTimer = setTimeout(
      () => this.kill(`not ready within ${options.startupTimeoutMs} ms (startupTimeoutMs)`),
      options.startupTimeoutMs,
    );
  }

  /** Calls running now. */
  get inFlight(): number {
    return this.calls.size;
  }

  /** Ready or busy: serving calls. */
  get serving(): boolean {
    return this.state === "ready" || this.state === "busy";
  }

  /** Free call slots; 0 unless the worker is ready. */
  get freeSlots(): number {
    if (!this.serving || this.linkClosed) return 0;
    return Math.max(0, this.concurrency - this.slotsUsed);
  }

  /**
   * Slots the calls here take: one per plain call, one per batch (running or
   * filling) of a batch tool, since a batch runs as one invocation.
   */
  private get slotsUsed(): number {
    if (this.batchCalls.size === 0) return this.plainCalls;
    let used = this.plainCalls;
    for (const [tool, n] of this.batchCalls) used += Math.ceil(n / this.batchSizes.get(tool)!);
    return used;
  }

  /** The batch size of a batch tool; 0 for other tools. */
  batchSize(tool: string): number {
    return this.batchSizes.size === 0 ? 0 : this.batchSizes.get(tool) ?? 0;
  }

  /**
   * How many more calls of batch tool `tool` this worker can take: `free`
   * fill batches within its concurrency (the one filling, or one a free slot
   * will run); `total` adds one batch filling behind them, so the next batch
   * is gathered while one runs (whatever the call ages: a batch waits for a
   * slot by design).
   */
  batchRoom(tool: string): { free: number; total: number } {
    const size = this.batchSize(tool);
    if (size === 0 || !this.serving || this.linkClosed) return { free: 0, total: 0 };
    const n = this.batchCalls.get(tool) ?? 0;
    const others = this.slotsUsed - Math.ceil(n / size);
    return {
      free: Math.max(0, (this.concurrency - others) * size - n),
      total: Math.max(0, (this.concurrency + 1 - others) * size - n),
    };
  }

  /**
   * Calls that may still be sent to queue behind the running ones: only
   * while those are young, so nothing is stacked behind a slow call.
   */
  get prefetchSlots(): number {
    if (!this.serving || this.linkClosed) return 0;
    const used = this.slotsUsed;
    const room = this.concurrency + this.options.prefetch - used;
    if (room <= 0 || used < this.concurrency) return Math.max(0, room);
    return this.oldestRunningMs() < this.options.prefetchStealMs ? room : 0;
  }

  /**
   * How long the oldest call running here has been running, in ms. Cancelled
   * calls do not count: they are finishing, so the worker is about to be free
   * (a session's next call after a cancel stays on its worker).
   */
  oldestRunningMs(): number {
    for (const call of this.calls.values()) {
      if (!call.cancelled) return performance.now() - call.sentAt;
    }
    return 0;
  }

  /**
   * Prefetched calls the worker has not started yet (as far as the server can
   * tell), oldest first. Not batch tools' calls: they wait for their batch by
   * design, and moving one would only split a batch (or bounce it back here).
   */
  queuedCalls(): ActiveCall[] {
    return [...this.calls.values()].slice(this.concurrency)
      .filter((c) => c.request.movable && !c.revoking && !c.cancelled && this.batchSize(c.request.tool) === 0);
  }

  /** Asks the worker to give a queued call back; it answers NOT_STARTED unless it already started it. */
  revoke(call: ActiveCall): void {
    const state = this.calls.get(call.id);
    if (!state || state.revoking) return;
    state.revoking = true;
    this.send({ frame: { case: "cancel", value: { id: state.id, reason: "moved to an idle worker", onlyIfQueued: true } } });
  }

  /** The last lines of the process's real stderr (local spawned workers only). */
  stderrTail(): string {
    return this.options.process?.stderrTail() ?? "";
  }

  get alive(): boolean {
    return this.state !== "dead";
  }

  /** Connects the worker's link after its Hello; the handshake continues with Ready. */
  attach(hello: Hello, link: Link): void {
    this.link = link;
    this.pid = hello.pid || this.pid;
    this.hostname = hello.hostname;
    link.onFrame((frame) => this.onFrame(frame));
    link.onClose((reason) => this.onLinkClosed(reason));
    if (this.exitedWhileLinked) link.onClose(this.exitedWhileLinked);
  }

  /** Whether the worker can take one more call of `tool`: a free slot or room to prefetch (the pool decides when to prefetch). */
  private accepting(tool: string): boolean {
    if (this.link === undefined || this.linkClosed || !this.serving) return false;
    if (this.batchSize(tool) > 0) return this.batchRoom(tool).total > 0;
    return this.slotsUsed < this.concurrency + this.options.prefetch;
  }

  call(request: CallRequest, sink: CallSink): ActiveCall {
    // Only the capacity bound is checked here: prefetchSlots depends on the clock, which moves between the pool's pick and this call.
    if (!this.accepting(request.tool)) throw new PyfleetError("internal", `worker ${this.id} has no free slot`);
    const id = this.allocateCallId();
    // Methods, not arrows: under tsx every arrow stored in a property is
    // named at runtime, a cost paid per call.
    const worker = this;
    const state: CallState = {
      id,
      request,
      sink,
      cancelled: false,
      revoking: false,
      sentAt: performance.now(),
      cancel(reason) {
        worker.cancelCall(state, reason);
      },
      credit(chunks) {
        if (worker.calls.get(id) === state) worker.send({ frame: { case: "credit", value: { id, chunks } } });
      },
    };
    this.calls.set(id, state);
    this.countCall(request.tool, 1);
    this.idleSince = undefined;
    this.updateLoadState();
    this.link!.sendCall({
      id,
      tool: request.tool,
      args: request.args,
      binaryArgs: request.binaryArgs,
      sessionId: request.sessionId,
      timeoutMs: request.timeoutMs,
      stream: request.stream,
      chunkWindow: request.chunkWindow,
      requestId: request.requestId,
      traceparent: request.traceparent,
      tracestate: request.tracestate,
    });
    return state;
  }

  /** Tells the worker a session ended. */
  releaseSession(sessionId: string): void {
    this.send({ frame: { case: "releaseSession", value: { sessionId } } });
  }

  /** No new calls; the pool retires the worker once its calls are done. */
  drain(): void {
    if (this.state === "dead" || this.state === "draining") return;
    this.state = "draining";
  }

  /** Asks the worker to finish and exit; kills its group if it has not exited after `graceMs`. */
  async shutdown(graceMs: number): Promise<void> {
    if (this.state === "dead") return;
    this.expectedExit = true;
    const gone = new Promise<void>((resolve) => this.onDeath.push(resolve));
    if (this.state === "starting") {
      // Nothing to drain yet.
      this.kill("stopped before it was ready", true);
      await gone;
      return;
    }
    this.state = "draining";
    this.send({ frame: { case: "shutdown", value: { graceMs } } });
    const timer = setTimeout(() => this.kill("did not exit after Shutdown", true), graceMs + 1_000);
    await gone;
    clearTimeout(timer);
  }

  private onDeath: (() => void)[] = [];

  /**
   * The template asked to fork this worker died: if it has not connected
   * yet, it never will (or it died with its template, by the parent-death
   * signal). Not the adapter's failure, so not counted as one.
   */
  forkLost(cause: string): void {
    if (this.state === "starting" && this.link === undefined) this.die(`its fork template died (${cause})`, { signal: "SIGKILL", cause });
  }

  /** Kills the worker's process group at once. */
  kill(reason: string, expected = false): void {
    if (expected) this.expectedExit = true;
    this.signalGroup("SIGKILL");
    this.link?.close(reason);
    // Remote and forked workers have no process handle to report the exit.
    if (!this.options.process) void this.die(reason);
    else this.pendingReason ??= reason;
  }

  private pendingReason: string | undefined;

  /** Sends a signal to the worker's process group (local workers only). */
  signalGroup(signal: NodeJS.Signals): void {
    if (this.options.process) this.options.process.signal(signal);
    else if (!this.remote && this.pid > 0) signalGroup(this.pid, signal);
  }

  private allocateCallId(): number {
    // uint32 ids, unique among the link's unfinished calls.
    for (;;) {
      const id = this.nextCallId;
      this.nextCallId = id >= 0xffffffff ? 1 : id + 1;
      if (!this.calls.has(id)) return id;
    }
  }

  private send(frame: MessageInitShape<typeof ServerFrameSchema>): void {
    this.link?.send(create(ServerFrameSchema, frame));
  }

  private updateLoadState() {
    if (this.serving) {
      this.state = this.slotsUsed >= this.concurrency ? "busy" : "ready";
    }
  }

  private countCall(tool: string, delta: 1 | -1) {
    if (this.batchSize(tool) === 0) {
      this.plainCalls += delta;
      return;
    }
    const n = (this.batchCalls.get(tool) ?? 0) + delta;
    if (n > 0) this.batchCalls.set(tool, n);
    else this.batchCalls.delete(tool);
  }

  private cancelCall(state: CallState, reason: string) {
    if (state.cancelled || this.calls.get(state.id) !== state) return;
    state.cancelled = true;
    this.send({ frame: { case: "cancel", value: { id: state.id, reason } } });
    state.cancelTimer = setTimeout(() => {
      if (this.calls.get(state.id) === state) {
        this.kill(`call ${state.id} (${state.request.tool}) did not stop within ${this.options.cancelGraceMs} ms of being cancelled`);
      }
    }, this.options.cancelGraceMs);
  }

  private finishCall(id: number): CallState | undefined {
    const state = this.calls.get(id);
    if (!state) return undefined;
    this.calls.delete(id);
    this.countCall(state.request.tool, -1);
    clearTimeout(state.cancelTimer);
    this.callsDone++;
    if (this.calls.size === 0) this.idleSince = Date.now();
    this.updateLoadState();
    return state;
  }

  private onFrame(frame: WorkerFrame): void {
    switch (frame.frame.case) {
      case "result": {
        const state = this.finishCall(frame.frame.value.id);
        if (state) {
          state.sink.result(frame.frame.value.value);
          this.options.hooks.capacity(this);
        }
        return;
      }
      case "chunk": {
        const state = this.calls.get(frame.frame.value.id);
        state?.sink.chunk(frame.frame.value.items);
        return;
      }
      case "error": {
        const state = this.finishCall(frame.frame.value.id);
        if (state) {
          state.sink.error(frame.frame.value);
          this.options.hooks.capacity(this);
        }
        return;
      }
      case "callback": {
        const callback = frame.frame.value;
        const state = this.calls.get(callback.callId);
        const reply = (result: CallbackResult) => this.send({ frame: { case: "callbackResult", value: result } });
        if (!state) {
          reply(create(CallbackResultSchema, { id: callback.id, outcome: { case: "error", value: { code: statusCode("not_found"), message: `call ${callback.callId} is not running` } } }));
          return;
        }
        this.options.hooks.callback(this, state, callback, reply);
        return;
      }
      case "log":
        this.options.hooks.log(this, frame.frame.value, this.calls.get(frame.frame.value.callId));
        return;
      case "pong":
        this.pingsOutstanding = 0;
        this.rssBytes = Number(frame.frame.value.rssBytes);
        this.options.hooks.pong?.(this);
        return;
      case "ready":
        this.onReady(frame.frame.value.tools, frame.frame.value.concurrency);
        return;
      case "startupFailed":
        this.startupFailure = frame.frame.value;
        return;
      default:
        return;
    }
  }

  private onReady(tools: ToolSpec[], concurrency: number) {
    if (this.state !== "starting") return;
    clearTimeout(this.startupTimer);
    this.tools = tools;
    this.batchSizes = new Map(tools.filter((t) => t.batchSize > 0).map((t) => [t.name, t.batchSize]));
    this.concurrency = Math.max(1, concurrency);
    this.state = "ready";
    this.readyAt = Date.now();
    this.idleSince = this.readyAt;
    if (this.options.heartbeatIntervalMs > 0) {
      this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatIntervalMs);
      this.heartbeat.unref();
    }
    this.options.hooks.ready(this);
  }

  private beat() {
    if (this.pingsOutstanding >= this.options.heartbeatMisses) {
      this.kill(`missed ${this.pingsOutstanding} heartbeats (heartbeatIntervalMs ${this.options.heartbeatIntervalMs})`);
      return;
    }
    this.pingsOutstanding++;
    this.nonce = (this.nonce + 1) >>> 0;
    this.send({ frame: { case: "ping", value: { nonce: this.nonce } } });
  }

  private onLinkClosed(reason: string) {
    // No new calls from now on, though death is declared only once the exit status is known.
    this.linkClosed = true;
    if (this.options.process) {
      // The process usually exits at the same moment; wait briefly for its
      // status so the death can say how it ended. If it lingers, kill it.
      const proc = this.options.process;
      const timer = setTimeout(() => {
        proc.signal("SIGKILL");
        void this.die(this.pendingReason ?? reason);
      }, EXIT_WAIT_MS);
      void proc.exited.then(() => clearTimeout(timer));
      return;
    }
    if (this.options.forkedExit && this.pid > 0) {
      void this.options.forkedExit(this.pid).then((exit) => this.die(this.pendingReason ?? (exit ? describeExit(exit) : reason), exit));
      return;
    }
    void this.die(this.pendingReason ?? reason);
  }

  /**
   * The process is gone, but what it wrote just before (a StartupFailed, a
   * last result) may still be unread on its link, or its link not yet
   * handed over: read that first, for EXIT_WAIT_MS at most.
   */
  private onProcessExit(exit: ExitInfo) {
    const die = () => this.die(describeExit(exit), exit);
    if (this.linkClosed || (this.link === undefined && this.state !== "starting")) {
      die();
      return;
    }
    // Not connected yet: its Hello may wait behind other work on a busy server.
    const timer = setTimeout(die, this.link === undefined ? ATTACH_WAIT_MS : EXIT_WAIT_MS);
    this.exitedWhileLinked = () => {
      clearTimeout(timer);
      die();
    };
    this.link?.onClose(this.exitedWhileLinked);
  }

  /** Set while a process that exited waits for its link to drain (see onProcessExit). */
  private exitedWhileLinked: (() => void) | undefined;

  private die(reason: string, exit?: ExitInfo): void {
    if (this.deathStarted) return;
    this.deathStarted = true;
    const duringStartup = this.state === "starting";
    this.state = "dead";
    clearTimeout(this.startupTimer);
    clearInterval(this.heartbeat);
    this.link?.close(reason);
    this.signalGroup("SIGKILL");
    const startupFailure = this.startupFailure;
    const death: WorkerDeath = {
      reason: this.pendingReason && exit ? `${this.pendingReason} (${describeExit(exit)})` : reason,
      expected: this.expectedExit,
      duringStartup,
      startupFailure,
      exit,
    };
    const lost = [...this.calls.values()];
    this.calls.clear();
    this.plainCalls = 0;
    this.batchCalls.clear();
    // Calls beyond what the slots run had most likely not started: the
    // first `concurrency` plain calls, or batches' worth of a batch tool's.
    const seen = new Map<string, number>();
    for (const state of lost) {
      clearTimeout(state.cancelTimer);
      const tool = this.batchSize(state.request.tool) > 0 ? state.request.tool : "";
      const i = seen.get(tool) ?? 0;
      seen.set(tool, i + 1);
      state.sink.lost(death, i >= this.concurrency * Math.max(1, this.batchSize(tool)));
    }
    this.options.hooks.died(this, death);
    for (const resolve of this.onDeath.splice(0)) resolve();
  }
}

