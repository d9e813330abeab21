import { EventEmitter, on } from "node:events";
import { create, type JsonObject, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import type { ToolSpec } from "@pyfleet/sdk/gen/pyfleet/pool/v1/tool_pb";
import { TypedValueSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/variable_pb";
import {
  type Callback,
  type CallbackResult,
  CallbackResultSchema,
  ErrorKind,
  type Error as ErrorFrame,
  type Hello,
  type Log,
  LogLevel,
  type Payload,
} from "@pyfleet/sdk/gen/pyfleet/worker/v1/worker_pb";
import { type ErrorCode, PyfleetError, STATUS_NUMBERS } from "../errors.js";
import type { Logger } from "../log/index.js";
import { BoundedChannel } from "../channel.js";
import type { PoolConfig } from "./config.js";
import type { PoolEvent, PoolEventKind } from "./events.js";
import { type Link, LinkServer } from "./link/index.js";
import { spawnPython, type PythonProcess } from "./process.js";
import { type AffinityMode, type CreateSessionInput, type SessionRecord, SessionStore, type SetVariableInput, type VariableChange } from "./sessions/index.js";
import { PoolCounters } from "./stats.js";
import { Template, TemplateStartupError } from "./template.js";
import { type ActiveCall, type CallRequest, type CallSink, Worker, type WorkerDeath } from "./worker.js";

export interface ExecuteOptions {
  sessionId?: string;
  /** The tenant making the call; sessions of other tenants are NOT_FOUND. Default "". */
  owner?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Safe to retry on another worker even if the tool is not marked idempotent. */
  idempotent?: boolean;
  binaryArgs?: Record<string, Uint8Array>;
  requestId?: string;
}

export interface CallInfo {
  workerId: string;
  workerPid: number;
  attempts: number;
  queuedMs: number;
  ranMs: number;
}

/** A tool's return value: JSON text as the worker sent it (parsed on first use), or bytes. */
export class CallResult {
  private parsed: { value: JsonValue } | undefined;

  constructor(
    /** UTF-8 JSON text; undefined when the tool returned bytes. */
    readonly json: Uint8Array | undefined,
    /** Set when the tool returned bytes. */
    readonly binary: Uint8Array | undefined,
    readonly info: CallInfo,
  ) {}

  /** The JSON return value (null when the tool returned bytes). */
  get value(): JsonValue {
    this.parsed ??= { value: this.json ? parseJson(this.json) : null };
    return this.parsed.value;
  }
}

export type StreamEvent =
  | ChunkEvent
  | { kind: "binary"; value: Uint8Array }
  | { kind: "done"; result: JsonValue; chunks: number; info: CallInfo };

/** A yielded JSON value: its text as the worker sent it, parsed on first use. */
export class ChunkEvent {
  readonly kind = "chunk";
  private parsed: { value: JsonValue } | undefined;

  constructor(
    /** UTF-8 JSON text. */
    readonly json: Uint8Array,
  ) {}

  get value(): JsonValue {
    this.parsed ??= { value: parseJson(this.json) };
    return this.parsed.value;
  }
}

/** A generator tool's events; `takeReady` batches what has already arrived. */
export interface ToolStream extends AsyncIterable<StreamEvent> {
  /** Up to `max` chunk events that are ready now, without waiting (counted as read). */
  takeReady(max: number): ChunkEvent[];
}

export interface PoolStatsSnapshot {
  pool: string;
  workersStarting: number;
  workersReady: number;
  workersBusy: number;
  workersDraining: number;
  workersRemote: number;
  queueDepth: number;
  inFlight: number;
  restarts: number;
  retries: number;
  callsTotal: number;
  errorsByCode: Record<string, number>;
  sessions: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  circuitOpen: boolean;
}

export interface WorkerSummary {
  id: string;
  pid: number;
  state: Worker["state"];
  remote: boolean;
  group: string | undefined;
  hostname: string;
  inFlight: number;
  callsDone: number;
}

export interface PoolDeps {
  logger: Logger;
  /** The link socket; a pool made without one starts its own. */
  linkServer?: LinkServer;
}

/** How a call delivers its outcome: to a promise (unary) or a channel (stream). */
interface Outcome {
  chunk(items: Payload[], call: PendingCall): void;
  result(value: Payload | undefined, info: CallInfo): void;
  fail(error: PyfleetError): void;
}

interface PendingCall {
  readonly request: Omit<CallRequest, "timeoutMs">;
  readonly session: SessionRecord | undefined;
  readonly idempotent: boolean;
  readonly deadline: number | undefined;
  readonly createdAt: number;
  readonly outcome: Outcome;
  attempts: number;
  chunksDelivered: number;
  queuedAt: number;
  dispatchedAt: number;
  active: { worker: Worker; call: ActiveCall } | undefined;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  queueTimer: NodeJS.Timeout | undefined;
  /** The calls sharing its abort signal (see callsOf). */
  signalGroup: Set<PendingCall> | undefined;
}

/** A unary call's outcome: settles its promise. (A class, not closures: one object per call.) */
class ResultOutcome implements Outcome {
  constructor(
    private readonly resolve: (result: CallResult) => void,
    private readonly reject: (error: PyfleetError) => void,
  ) {}

  chunk(): void {}

  result(payload: Payload | undefined, info: CallInfo): void {
    this.resolve(payload?.kind.case === "raw"
      ? new CallResult(undefined, payload.kind.value, info)
      : new CallResult(jsonOf(payload), undefined, info));
  }

  fail(error: PyfleetError): void {
    this.reject(error);
  }
}

const decoder = new TextDecoder();
const NULL_JSON = new TextEncoder().encode("null");
const RESTART_WINDOW_MS = 10_000;
const MAX_RESTART_DELAY_MS = 1_000;
const MAX_CIRCUIT_COOLDOWN_MS = 60_000;

const KIND_CODES: Record<ErrorKind, ErrorCode> = {
  [ErrorKind.UNSPECIFIED]: "internal",
  [ErrorKind.TOOL_RAISED]: "unknown",
  [ErrorKind.UNKNOWN_TOOL]: "not_found",
  [ErrorKind.BAD_ARGUMENTS]: "invalid_argument",
  [ErrorKind.CANCELLED]: "canceled",
  [ErrorKind.DEADLINE_EXCEEDED]: "deadline_exceeded",
  [ErrorKind.NOT_SERIALIZABLE]: "unknown",
  [ErrorKind.OVERLOADED]: "resource_exhausted",
  [ErrorKind.INTERNAL]: "internal",
  [ErrorKind.NOT_STARTED]: "unavailable",
};

/** A payload's JSON text; "null" when it carries none (no value, or bytes). */
function jsonOf(payload: Payload | undefined): Uint8Array {
  return payload?.kind.case === "json" ? payload.kind.value : NULL_JSON;
}

function parseJson(json: Uint8Array): JsonValue {
  return JSON.parse(decoder.decode(json)) as JsonValue;
}

function now(): number {
  return performance.now();
}

/**
 * A pool of Python workers running one adapter: it starts and restarts
 * them, queues and routes calls, pins sessions, retries idempotent calls
 * when a worker dies, and stops everything on close. It works without any
 * RPC layer.
 */
export class Pool {
  readonly name: string;
  /** Emits each PoolEvent under its kind ("worker.died", ...) and under "event". */
  readonly events = new EventEmitter();

  private readonly workers = new Map<string, Worker>();
  private readonly queue: PendingCall[] = [];
  private readonly sessions: SessionStore;
  private readonly counters = new PoolCounters();
  private readonly recentRestarts: number[] = [];
  private toolsByName = new Map<string, ToolSpec>();
  private template: Template | undefined;
  private templateStarting: Promise<Template> | undefined;
  /** How workers start; with startMode "auto", undecided until a template reports whether forking is safe. */
  private workerStart: "spawn" | "fork" | undefined;
  private decidingStart = false;
  private workerSeq = 0;
  /** Link tokens of local workers, revoked when they die. */
  private readonly tokens = new Map<string, () => void>();
  private readonly running = new Set<PendingCall>();
  private readonly signalGroups = new WeakMap<AbortSignal, Set<PendingCall>>();
  /** Dial-in worker group -> when one of its workers last took a call. */
  private readonly groupActive = new Map<string, number>();
  private pumping = false;
  private closing = false;
  private closed = false;
  private ensureTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout;
  private startupFailures = 0;
  private lastStartupError = "";
  private circuit: "closed" | "open" | "probing" = "closed";
  private circuitCooldownMs: number;
  private circuitTimer: NodeJS.Timeout | undefined;
  private readonly logger: Logger;
  private readonly ownsLinkServer: boolean;
  private readonly idleWaiters: (() => void)[] = [];

  private constructor(
    readonly config: PoolConfig,
    private readonly linkServer: LinkServer,
    deps: PoolDeps,
  ) {
    this.name = config.name;
    if (config.startMode !== "auto") this.workerStart = config.startMode;
    this.logger = deps.logger.child({ pool: config.name });
    this.ownsLinkServer = !deps.linkServer;
    this.circuitCooldownMs = config.circuitCooldownMs;
    this.events.setMaxListeners(0);
    this.sessions = new SessionStore(config.name, {
      maxSessions: config.maxSessions,
      defaultTtlMs: config.sessionTtlMs,
      maxVariables: config.maxVariables,
      maxVariableBytes: config.maxVariableBytes,
    }, (session) => this.onSessionEnd(session));
    this.sweepTimer = setInterval(() => this.sessions.sweep(), config.sessionSweepMs);
    this.sweepTimer.unref();
  }

  /** Creates the pool and starts its workers; `ready()` tells when they are up. */
  static async create(config: PoolConfig, deps: PoolDeps): Promise<Pool> {
    const linkServer = deps.linkServer ?? (await LinkServer.start());
    const pool = new Pool(config, linkServer, deps);
    pool.ensureWorkers();
    return pool;
  }

  /** Resolves when `size` workers are ready; rejects if the pool cannot start them. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.circuit === "open") {
          cleanup();
          reject(this.circuitError());
        } else if (this.closed) {
          cleanup();
          reject(new PyfleetError("unavailable", `pool "${this.name}" is closed`));
        } else if (this.countReady() >= this.config.size) {
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
    return [...this.toolsByName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Runs a tool and returns its value (bytes for a tool that returned bytes). */
  async execute(tool: string, args: JsonObject = {}, options: ExecuteOptions = {}): Promise<JsonValue | Uint8Array> {
    const result = await this.call(tool, args, options);
    return result.binary ?? result.value;
  }

  /** Runs a tool and returns its value with where and how it ran. */
  call(tool: string, args: JsonObject = {}, options: ExecuteOptions = {}): Promise<CallResult> {
    return new Promise<CallResult>((resolve, reject) => {
      this.submit(tool, args, options, false, new ResultOutcome(resolve, reject));
    });
  }

  /**
   * Runs a generator tool and yields its chunks, then one "done" event.
   * Leaving the loop early (or aborting `signal`) stops the Python generator.
   * At most `chunkWindow` chunks are buffered: a slow reader slows Python down.
   */
  executeStream(tool: string, args: JsonObject = {}, options: ExecuteOptions = {}): ToolStream {
    const window = this.config.chunkWindow;
    // The worker never sends more than `window` unacknowledged items; +1 for the done event.
    const channel = new BoundedChannel<StreamEvent>(window + 1, () => new PyfleetError("internal", "stream overran its window"));
    let consumed = 0;
    let pending: PendingCall | undefined;
    const abort = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, abort.signal]) : abort.signal;
    try {
      pending = this.submit(tool, args, { ...options, signal }, true, {
        chunk: (items) => {
          for (const item of items) {
            channel.push(item.kind.case === "raw" ? { kind: "binary", value: item.kind.value } : new ChunkEvent(jsonOf(item)));
          }
        },
        result: (payload, info) => {
          channel.push({ kind: "done", result: parseJson(jsonOf(payload)), chunks: pending?.chunksDelivered ?? 0, info });
          channel.close();
        },
        fail: (error) => channel.fail(error),
      });
    } catch (e) {
      channel.fail(e);
    }
    channel.onDone(() => abort.abort(new PyfleetError("canceled", "the stream's reader left")));
    const iterator = channel[Symbol.asyncIterator]();
    const grant = Math.max(1, Math.floor(window / 2));
    // Credit as chunks are read, so the worker never has more than `window` unread.
    const read = (n: number) => {
      const before = consumed;
      consumed += n;
      const owed = Math.floor(consumed / grant) - Math.floor(before / grant);
      if (owed > 0) pending?.active?.call.credit(owed * grant);
    };
    return {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          const item = await iterator.next();
          if (!item.done && item.value.kind !== "done") read(1);
          return item;
        },
        return: () => iterator.return!(),
      }),
      takeReady(max: number): ChunkEvent[] {
        const ready = channel.takeReady(max, (e) => e.kind === "chunk") as ChunkEvent[];
        if (ready.length > 0) read(ready.length);
        return ready;
      },
    };
  }

  // ---- sessions -------------------------------------------------------------

  createSession(input: Omit<CreateSessionInput, "owner"> & { owner?: string }): SessionRecord {
    this.assertOpen();
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

  deleteSession(id: string, owner = ""): void {
    this.sessions.delete(id, owner);
  }

  setVariable(sessionId: string, input: SetVariableInput, owner = "", updatedBy = "client") {
    const session = this.useSession(sessionId, owner);
    return this.sessions.variables(session).set(input, updatedBy);
  }

  getVariable(sessionId: string, name: string, owner = "") {
    return this.sessions.variables(this.useSession(sessionId, owner)).get(name);
  }

  listVariables(sessionId: string, owner = "") {
    return this.sessions.variables(this.useSession(sessionId, owner)).list();
  }

  deleteVariable(sessionId: string, name: string, owner = "", expectedVersion?: bigint) {
    return this.sessions.variables(this.useSession(sessionId, owner)).delete(name, expectedVersion);
  }

  watchVariables(sessionId: string, options: { names?: string[]; includeInitial?: boolean; signal: AbortSignal; owner?: string }): AsyncIterable<VariableChange> {
    const session = this.useSession(sessionId, options.owner ?? "");
    return this.sessions.variables(session).watch(options.names ?? [], options.includeInitial ?? false, options.signal);
  }

  // ---- workers from elsewhere -------------------------------------------------

  /**
   * Adds a worker that dialed in (WorkerLinkService.Attach). It serves calls
   * like a local one once it sends Ready; when its link drops its calls fail
   * over as on a crash, and it is not restarted (the remote side reconnects).
   */
  attachRemote(hello: Hello, link: Link, group?: string): Worker {
    this.assertOpen();
    const worker = this.newWorker(this.nextWorkerId(), { remote: true, ...(group !== undefined ? { group } : {}) });
    worker.attach(hello, link);
    this.emit("worker.starting", { workerId: worker.id, pid: worker.pid, message: `remote worker from ${hello.hostname || "unknown host"}` });
    return worker;
  }

  /** Disconnects every worker attached with `group` (their calls fail over). */
  detachGroup(group: string, reason: string): void {
    this.groupActive.delete(group);
    for (const worker of this.workers.values()) {
      if (worker.group === group) worker.kill(reason, true);
    }
  }

  /** When a worker of `group` last took a call (ms since epoch), if ever. */
  groupActivity(group: string): number | undefined {
    return this.groupActive.get(group);
  }

  /** Workers attached with `group` that are ready or busy. */
  countGroup(group: string): number {
    let n = 0;
    for (const worker of this.workers.values()) {
      if (worker.group === group && (worker.state === "ready" || worker.state === "busy")) n++;
    }
    return n;
  }

  /** Process ids of the pool's local processes (workers and fork template). */
  localPids(): number[] {
    const pids = [...this.workers.values()].filter((w) => !w.remote && w.pid > 0).map((w) => w.pid);
    if (this.template?.alive) pids.push(this.template.pid);
    return pids;
  }

  workerSummaries(): WorkerSummary[] {
    return [...this.workers.values()].map((w) => ({
      id: w.id,
      pid: w.pid,
      state: w.state,
      remote: w.remote,
      group: w.group,
      hostname: w.hostname,
      inFlight: w.inFlight,
      callsDone: w.callsDone,
    }));
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
    for (const w of this.workers.values()) {
      if (w.state !== "dead") counts[w.state]++;
      if (w.remote && w.state !== "dead") counts.remote++;
    }
    const { p50, p99 } = this.counters.percentiles();
    return {
      pool: this.name,
      workersStarting: counts.starting,
      workersReady: counts.ready,
      workersBusy: counts.busy,
      workersDraining: counts.draining,
      workersRemote: counts.remote,
      queueDepth: this.queue.length,
      inFlight: this.running.size,
      restarts: this.counters.restarts,
      retries: this.counters.retries,
      callsTotal: this.counters.callsTotal,
      errorsByCode: Object.fromEntries(this.counters.errorsByCode),
      sessions: this.sessions.size,
      latencyP50Ms: p50,
      latencyP99Ms: p99,
      circuitOpen: this.circuit !== "closed",
    };
  }

  /**
   * Stops taking calls, lets queued and running calls finish for up to
   * `graceMs`, fails what is left with UNAVAILABLE, then stops every worker:
   * Shutdown frame, SIGTERM, SIGKILL of each process group.
   */
  async close(graceMs = this.config.shutdownGraceMs): Promise<void> {
    if (this.closing) return this.closedPromise;
    this.closing = true;
    this.closedPromise = (async () => {
      await this.idle(graceMs);
      const error = new PyfleetError("unavailable", `pool "${this.name}" is shutting down; retry on another server`);
      for (const call of [...this.queue, ...this.running]) this.fail(call, error);
      clearTimeout(this.ensureTimer);
      clearTimeout(this.circuitTimer);
      clearTimeout(this.stealTimer);
      clearInterval(this.sweepTimer);
      const stopping = [...this.workers.values()].map((w) => w.shutdown(Math.min(1_000, graceMs)));
      await Promise.all(stopping);
      await this.template?.stop(500);
      this.sessions.closeAll();
      if (this.ownsLinkServer) await this.linkServer.close();
      this.closed = true;
      this.events.emit("closed");
    })();
    return this.closedPromise;
  }

  private closedPromise: Promise<void> = Promise.resolve();

  // ---- calls ----------------------------------------------------------------

  private submit(tool: string, args: JsonObject, options: ExecuteOptions, stream: boolean, outcome: Outcome): PendingCall {
    this.assertOpen();
    if (tool === "") throw new PyfleetError("invalid_argument", "tool is required");
    const spec = this.toolsByName.get(tool);
    if (this.toolsByName.size > 0 && !spec) {
      throw new PyfleetError("not_found", `unknown tool "${tool}" in pool "${this.name}"; known tools: ${[...this.toolsByName.keys()].sort().join(", ")} (see ListTools)`);
    }
    if (spec?.streaming && !stream) {
      throw new PyfleetError("invalid_argument", `tool "${tool}" streams; call it with ExecuteStream`);
    }
    const binaryArgs = options.binaryArgs ?? {};
    for (const name of Object.keys(binaryArgs)) {
      if (name in args) throw new PyfleetError("invalid_argument", `argument "${name}" is in both args and binary_args; pass it once`);
    }
    // An open circuit stops new starts; calls fail fast only when no worker is left to run them.
    if (this.circuit === "open" && !this.hasServingWorkers()) throw this.circuitError();
    const session = options.sessionId ? this.useSession(options.sessionId, options.owner ?? "") : undefined;
    if (session?.broken) {
      throw new PyfleetError("unavailable", `session "${session.id}" lost its worker (strict affinity) and its state with it; create a new session`);
    }
    const timeouts = [options.timeoutMs, this.config.callTimeoutMs || undefined].filter((t): t is number => t !== undefined && t > 0);
    const start = now();
    const call: PendingCall = {
      request: {
        movable: !session || session.affinity === "hint",
        tool,
        args: Buffer.from(JSON.stringify(args)),
        binaryArgs,
        sessionId: session?.key ?? "",
        stream,
        chunkWindow: this.config.chunkWindow,
        requestId: options.requestId ?? "",
      },
      session,
      idempotent: options.idempotent === true || spec?.idempotent === true,
      deadline: timeouts.length > 0 ? start + Math.min(...timeouts) : undefined,
      createdAt: start,
      outcome,
      attempts: 0,
      chunksDelivered: 0,
      queuedAt: start,
      dispatchedAt: 0,
      active: undefined,
      settled: false,
      timer: undefined,
      queueTimer: undefined,
      signalGroup: undefined,
    };
    this.counters.callsTotal++;
    if (session) session.calls++;

    if (options.signal) {
      const signal = options.signal;
      if (signal.aborted) {
        this.counters.error("canceled");
        throw new PyfleetError("canceled", "the call was cancelled before it started");
      }
      call.signalGroup = this.callsOf(signal);
      call.signalGroup.add(call);
    }
    if (call.deadline !== undefined) {
      const ms = call.deadline - start;
      call.timer = setTimeout(() => this.fail(call, new PyfleetError("deadline_exceeded",
        `call to "${tool}" did not finish within its deadline of ${Math.round(ms)} ms`)), ms);
    }

    // Queued calls cannot use any free worker (the queue is pumped whenever
    // a slot frees), so a free worker found now may take this call at once.
    const worker = this.pickWorker(call);
    if (worker) {
      this.dispatch(call, worker);
    } else {
      this.enqueue(call, false);
    }
    return call;
  }

  /**
   * The running calls that share an abort signal. One listener per signal,
   * however many calls use it: a pipelined stream passes one signal to
   * hundreds of calls, and each add or remove of a listener walks them all.
   */
  private callsOf(signal: AbortSignal): Set<PendingCall> {
    const group = this.signalGroups.get(signal);
    if (group) return group;
    const calls = new Set<PendingCall>();
    this.signalGroups.set(signal, calls);
    const pool = this;
    // A listener object (see the sink in dispatch for why not an arrow).
    signal.addEventListener("abort", {
      handleEvent() {
        pool.signalGroups.delete(signal);
        // The signal's reason may say why (e.g. the RPC's deadline); otherwise the caller cancelled.
        const reason = signal.reason instanceof PyfleetError ? signal.reason : undefined;
        for (const call of [...calls]) {
          pool.fail(call, reason ?? new PyfleetError("canceled", `call to "${call.request.tool}" was cancelled by the caller`));
        }
      },
    }, { once: true });
    return calls;
  }

  private enqueue(call: PendingCall, front: boolean) {
    const session = call.session;
    if (session?.affinity === "strict_fail_fast" && session.workerId) {
      this.fail(call, new PyfleetError("resource_exhausted", `session "${session.id}" is strict_fail_fast and its worker is busy; retry later`));
      return;
    }
    if (!front && this.queue.length >= this.config.queueMaxSize) {
      this.emit("queue.saturated", { message: `queue full (${this.queue.length} waiting)` });
      this.fail(call, new PyfleetError("resource_exhausted", `pool "${this.name}" is saturated: ${this.queue.length} calls are waiting (queueMaxSize); retry with backoff`));
      return;
    }
    call.queuedAt = now();
    if (front) this.queue.unshift(call);
    else this.queue.push(call);
    if (this.config.queueTimeoutMs > 0 && (call.deadline === undefined || call.deadline - call.queuedAt > this.config.queueTimeoutMs)) {
      call.queueTimer = setTimeout(() => this.fail(call, new PyfleetError("resource_exhausted",
        `call to "${call.request.tool}" waited ${this.config.queueTimeoutMs} ms for a worker of pool "${this.name}" (queueTimeoutMs); the pool is saturated or has no workers`)),
      this.config.queueTimeoutMs);
    }
  }

  /** A worker with a free slot (preferred), else one that can queue the call behind young calls. */
  private pickWorker(call: PendingCall): Worker | undefined {
    const session = call.session;
    if (session?.workerId) {
      const pinned = this.workers.get(session.workerId);
      // fail_fast means "now or never": no queueing at the worker either.
      const canTake = pinned && (pinned.freeSlots > 0 || (session.affinity !== "strict_fail_fast" && pinned.prefetchSlots > 0));
      if (canTake) return pinned;
      if (session.affinity !== "hint") return undefined;
    }
    let best: Worker | undefined;
    let prefetchable: Worker | undefined;
    let room = 0;
    for (const worker of this.workers.values()) {
      const free = worker.freeSlots;
      if (free > 0 && (!best || free > best.freeSlots)) best = worker;
      else if (!best) {
        // The least loaded, so prefetched calls spread over the workers.
        const slots = worker.prefetchSlots;
        if (slots > room) {
          prefetchable = worker;
          room = slots;
        }
      }
    }
    return best ?? prefetchable;
  }

  /**
   * With nothing queued here, an idle worker takes over a prefetched call
   * that waits behind a slow one elsewhere (revoked there only if it has
   * not started, so it never runs twice).
   */
  private stealForIdleWorkers() {
    if (this.config.prefetch === 0 || this.queue.length > 0 || this.closing) return;
    let idle = 0;
    for (const w of this.workers.values()) idle += w.freeSlots;
    if (idle === 0) return;
    let soonest = Infinity;
    for (const w of this.workers.values()) {
      const queued = w.queuedCalls();
      if (queued.length === 0) continue;
      const age = w.oldestRunningMs();
      if (age >= this.config.prefetchStealMs) {
        for (const call of queued.slice(0, idle)) w.revoke(call);
        idle -= Math.min(idle, queued.length);
        if (idle === 0) return;
      } else {
        soonest = Math.min(soonest, this.config.prefetchStealMs - age);
      }
    }
    if (soonest !== Infinity && !this.stealTimer) {
      this.stealTimer = setTimeout(() => {
        this.stealTimer = undefined;
        this.stealForIdleWorkers();
      }, Math.ceil(soonest));
      this.stealTimer.unref();
    }
  }

  private stealTimer: NodeJS.Timeout | undefined;

  /** Sends a call to a worker; false (and the call queued again) if the worker refuses it. */
  private dispatch(call: PendingCall, worker: Worker): boolean {
    clearTimeout(call.queueTimer);
    call.queueTimer = undefined;
    call.attempts++;
    call.dispatchedAt = now();
    const session = call.session;
    if (session && (!session.workerId || !this.workers.has(session.workerId))) {
      this.sessions.pin(session, worker.id);
      if (session.repinPending) {
        session.repinPending = false;
        session.repins++;
        this.emit("session.repinned", { sessionId: session.id, workerId: worker.id, pid: worker.pid, message: "its worker died; session-local state was lost" });
      }
    }
    if (worker.group) this.groupActive.set(worker.group, Date.now());
    const timeoutMs = call.deadline === undefined ? 0 : Math.max(1, Math.round(call.deadline - call.dispatchedAt));
    this.running.add(call);
    // Methods, not arrows: under tsx every arrow stored in a property is
    // named at runtime, a cost paid per call.
    const pool = this;
    const sink: CallSink = {
      chunk(items) {
        if (call.settled) return;
        call.chunksDelivered += items.length;
        call.outcome.chunk(items, call);
      },
      result(value) {
        pool.running.delete(call);
        pool.afterCall(worker);
        pool.counters.latency(now() - call.createdAt);
        if (pool.settle(call)) {
          call.outcome.result(value, pool.info(call, worker));
          pool.checkIdle();
        }
      },
      error(frame) {
        pool.running.delete(call);
        if (frame.kind === ErrorKind.NOT_STARTED && !call.settled) {
          // Revoked from behind a slow call before it started: run it elsewhere.
          call.active = undefined;
          call.attempts--;
          pool.enqueue(call, true);
          pool.pump();
          return;
        }
        pool.afterCall(worker);
        pool.fail(call, pool.toolError(frame, call, worker));
      },
      lost(death, queued) {
        pool.running.delete(call);
        pool.onCallLost(call, worker, death, queued);
      },
    };
    try {
      call.active = { worker, call: worker.call({ ...call.request, timeoutMs }, sink) };
      return true;
    } catch (e) {
      // The worker cannot take it after all (its link just closed): back to the front of the queue.
      this.running.delete(call);
      call.attempts--;
      this.logger.debug({ worker: worker.id, err: e }, "dispatch refused; the call waits for another worker");
      this.enqueue(call, true);
      return false;
    }
  }

  private info(call: PendingCall, worker: Worker): CallInfo {
    return {
      workerId: worker.id,
      workerPid: worker.pid,
      attempts: call.attempts,
      queuedMs: call.dispatchedAt - call.createdAt,
      ranMs: now() - call.dispatchedAt,
    };
  }

  private toolError(frame: ErrorFrame, call: PendingCall, worker: Worker): PyfleetError {
    const code = KIND_CODES[frame.kind] ?? "internal";
    const tool = call.request.tool;
    switch (frame.kind) {
      case ErrorKind.TOOL_RAISED:
      case ErrorKind.NOT_SERIALIZABLE:
        return new PyfleetError(code, `tool "${tool}" raised ${frame.type || "an exception"}: ${frame.message}`, {
          type: frame.type || (frame.kind === ErrorKind.NOT_SERIALIZABLE ? "TypeError" : "Exception"),
          message: frame.message,
          traceback: frame.traceback,
          tool,
          workerId: worker.id,
        });
      case ErrorKind.UNKNOWN_TOOL:
        return new PyfleetError(code, `unknown tool "${tool}" in pool "${this.name}"; known tools: ${[...this.toolsByName.keys()].sort().join(", ")} (see ListTools)`);
      default:
        return new PyfleetError(code, frame.message || `call to "${tool}" failed`);
    }
  }

  private onCallLost(call: PendingCall, worker: Worker, death: WorkerDeath, queued: boolean) {
    call.active = undefined;
    if (call.settled) return;
    // Prefetched behind another call, it most likely never ran: the retry
    // budget (maxAttempts) is for calls that may have killed their worker.
    if (queued && call.idempotent) call.attempts--;
    const session = call.session;
    const strict = session !== undefined && session.affinity !== "hint";
    const retryable = call.idempotent && !strict && call.chunksDelivered === 0 && call.attempts < this.config.maxAttempts && !this.closing;
    if (!retryable) {
      const why = strict ? "its session is strict and its state is lost"
        : call.chunksDelivered > 0 ? "the stream had already sent chunks"
        : call.idempotent ? `it was tried ${call.attempts} times (maxAttempts)`
        : "the tool is not idempotent, so it was not retried";
      this.fail(call, new PyfleetError("unavailable", `worker ${worker.id} died while running "${call.request.tool}" (${death.reason}); ${why}`));
      return;
    }
    this.counters.retries++;
    const delay = this.config.retryBackoffMs * 2 ** (call.attempts - 1);
    const retry = () => {
      if (call.settled) return;
      this.enqueue(call, true);
      this.pump();
    };
    if (delay > 0) setTimeout(retry, delay).unref();
    else retry();
  }

  private fail(call: PendingCall, error: PyfleetError) {
    if (call.settled) return;
    this.counters.error(error.code);
    if (call.session) call.session.errors++;
    if (this.settle(call)) {
      call.outcome.fail(error);
      this.checkIdle();
    }
  }

  /**
   * Ends a call once: clears its timers, takes it out of the queue, stops it
   * on its worker. False if it had ended already; otherwise the caller
   * delivers the outcome, then calls checkIdle.
   */
  private settle(call: PendingCall): boolean {
    if (call.settled) return false;
    call.settled = true;
    clearTimeout(call.timer);
    clearTimeout(call.queueTimer);
    call.signalGroup?.delete(call);
    // Only a call that is not running can be in the queue (the scan is long under load).
    const index = call.active ? -1 : this.queue.indexOf(call);
    if (index >= 0) this.queue.splice(index, 1);
    if (call.active) {
      // Still running in Python: stop it there. The slot frees when the worker confirms.
      call.active.call.cancel("the caller stopped waiting");
    }
    return true;
  }

  private afterCall(worker: Worker) {
    if (this.config.maxCallsPerWorker > 0 && worker.callsDone >= this.config.maxCallsPerWorker && !worker.remote) {
      this.recycle(worker, `served ${worker.callsDone} calls (maxCallsPerWorker)`);
    }
  }

  private pump() {
    if (this.pumping) return;
    this.pumping = true;
    try {
      let i = 0;
      while (i < this.queue.length) {
        const call = this.queue[i]!;
        const worker = this.pickWorker(call);
        if (!worker) {
          // A call free to go anywhere found no room: no worker has any, so
          // nothing further back can go either (pinned calls included).
          if (!call.session?.workerId || call.session.affinity === "hint") break;
          i++;
          continue;
        }
        this.queue.splice(i, 1);
        // A refused call is back at the front; look further rather than pick the same worker again.
        if (!this.dispatch(call, worker)) i++;
      }
    } finally {
      this.pumping = false;
    }
    this.stealForIdleWorkers();
  }

  // ---- sessions and callbacks -------------------------------------------------

  private useSession(id: string, owner: string): SessionRecord {
    const session = this.sessions.get(id, owner);
    this.sessions.touch(session);
    return session;
  }

  private onSessionEnd(session: SessionRecord) {
    if (session.workerId) this.workers.get(session.workerId)?.releaseSession(session.key);
  }

  private onCallback(active: ActiveCall, frame: Callback, reply: (r: CallbackResult) => void) {
    const ok = (outcome: MessageInitShape<typeof CallbackResultSchema>["outcome"]) => reply(create(CallbackResultSchema, { id: frame.id, outcome }));
    const failWith = (e: unknown) => {
      const err = e instanceof PyfleetError ? e : new PyfleetError("internal", String(e));
      ok({ case: "error", value: { code: STATUS_NUMBERS[err.code], message: err.message } });
    };
    try {
      const op = frame.op;
      if (op.case === "callTool") {
        const args = op.value.args.length > 0 ? (parseJson(op.value.args) as JsonObject) : {};
        this.call(op.value.tool, args, {}).then(
          (r) => ok({ case: "value", value: r.binary ? { kind: { case: "raw", value: r.binary } } : { kind: { case: "json", value: Buffer.from(JSON.stringify(r.value)) } } }),
          failWith,
        );
        return;
      }
      const sessionId = active.request.sessionId;
      if (!sessionId) throw new PyfleetError("failed_precondition", "session variables need a session: call the tool with a session_id");
      const session = this.sessions.findByKey(sessionId);
      if (!session) throw new PyfleetError("not_found", `session "${sessionId}" has ended`);
      this.sessions.touch(session);
      const vars = this.sessions.variables(session);
      const by = `tool:${active.request.tool}`;
      switch (op.case) {
        case "getVariable":
          ok({ case: "variable", value: vars.get(op.value.name) });
          return;
        case "setVariable":
          ok({ case: "variable", value: vars.set({
            name: op.value.name,
            value: op.value.value ?? create(TypedValueSchema),
            type: op.value.type,
            ...(op.value.expectedVersion !== undefined ? { expectedVersion: op.value.expectedVersion } : {}),
          }, by) });
          return;
        case "listVariables":
          ok({ case: "variables", value: { variables: vars.list() } });
          return;
        case "deleteVariable":
          vars.delete(op.value.name);
          ok({ case: "done", value: true });
          return;
        default:
          throw new PyfleetError("unimplemented", `unknown callback ${String(op.case)}`);
      }
    } catch (e) {
      failWith(e);
    }
  }

  // ---- worker lifecycle -------------------------------------------------------

  private nextWorkerId(): string {
    return `${this.name}-${++this.workerSeq}`;
  }

  private newWorker(id: string, extra: { remote?: boolean; group?: string; process?: PythonProcess; forked?: boolean }): Worker {
    const worker = new Worker({
      id,
      pool: this.name,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      heartbeatMisses: this.config.heartbeatMisses,
      cancelGraceMs: this.config.cancelGraceMs,
      startupTimeoutMs: this.config.startupTimeoutMs,
      prefetch: this.config.prefetch,
      prefetchStealMs: this.config.prefetchStealMs,
      ...(extra.process ? { process: extra.process } : {}),
      ...(extra.forked ? { forkedExit: (pid: number) => this.template?.childExit(pid) ?? Promise.resolve(undefined) } : {}),
      ...(extra.remote ? { remote: true } : {}),
      ...(extra.group !== undefined ? { group: extra.group } : {}),
      hooks: {
        ready: (w) => this.onWorkerReady(w),
        capacity: () => {
          this.pump();
          this.checkIdle();
          this.retireIfDrained(worker);
        },
        died: (w, death) => this.onWorkerDied(w, death),
        callback: (_w, call, frame, reply) => this.onCallback(call, frame, reply),
        log: (w, frame, call) => this.onWorkerLog(w, frame, call),
        pong: (w) => {
          if (this.config.maxWorkerRssMb > 0 && w.rssBytes > this.config.maxWorkerRssMb * 1024 * 1024) {
            this.recycle(w, `uses ${Math.round(w.rssBytes / 1048576)} MiB (maxWorkerRssMb ${this.config.maxWorkerRssMb})`);
          }
        },
      },
    });
    this.workers.set(id, worker);
    return worker;
  }

  /** Starts local workers until the pool has `size` of them (respecting startup concurrency and the circuit). */
  private ensureWorkers() {
    if (this.closing || this.circuit === "open") return;
    let local = 0;
    let starting = 0;
    for (const w of this.workers.values()) {
      if (w.remote) continue;
      if (w.state === "starting") starting++;
      if (w.state !== "draining" && w.state !== "dead") local++;
    }
    const target = this.circuit === "probing" ? Math.min(1, this.config.size) : this.config.size;
    if (local < target && this.workerStart === undefined) {
      this.decideStart();
      return;
    }
    while (local < target && starting < this.config.startupConcurrency) {
      local++;
      starting++;
      this.startWorker();
    }
  }

  /**
   * startMode "auto": a template imports the adapter and says whether forking
   * from it is safe; workers are forked from it if so, spawned if not (or if
   * the template cannot start: spawned workers then report why, as usual).
   */
  private decideStart() {
    if (this.decidingStart) return;
    this.decidingStart = true;
    this.ensureTemplate().then(
      (template) => {
        if (!template.forkUnsafe) {
          this.workerStart = "fork";
          return;
        }
        this.workerStart = "spawn";
        this.logger.warn({ pool: this.name, reason: template.forkUnsafe },
          `pool "${this.name}": ${template.forkUnsafe}, so its workers are spawned, not forked (startMode fork forks anyway)`);
        if (this.template === template) this.template = undefined;
        void template.stop(500);
      },
      (e: unknown) => {
        this.workerStart = "spawn";
        if (!this.closing) this.logger.warn({ pool: this.name, err: e }, `pool "${this.name}": the fork template did not start, so its workers are spawned`);
      },
    ).finally(() => {
      this.decidingStart = false;
      this.ensureWorkers();
    });
  }

  /** The start mode as configured, and for "auto" what it decided. */
  get startModeInUse(): string {
    return this.config.startMode === "auto" ? `auto${this.workerStart ? `: ${this.workerStart}` : ""}` : this.config.startMode;
  }

  private startWorker() {
    if (this.workerStart === "fork") {
      void this.startForkedWorker();
      return;
    }
    let worker: Worker | undefined;
    const issued = this.linkServer.issue((hello, link) => worker?.attach(hello, link));
    const workerId = this.nextWorkerId();
    const proc = spawnPython({
      python: this.config.python,
      args: ["-m", "pyfleet_bridge.worker", "--adapter", this.config.adapter, "--socket", this.linkServer.path,
        "--worker-id", workerId, "--concurrency", String(this.config.concurrency)],
      env: { ...this.config.env, PYFLEET_WORKER_TOKEN: issued.token },
      ...(this.config.cwd ? { cwd: this.config.cwd } : {}),
      onOutput: (line, stream) => this.onProcessOutput(workerId, line, stream),
    });
    worker = this.newWorker(workerId, { process: proc });
    // Revoked once the worker is dead, not when its process exits: its Hello
    // (and why it failed) may still be unread.
    this.tokens.set(worker.id, issued.revoke);
    this.emit("worker.starting", { workerId: worker.id, pid: proc.pid });
  }

  private async startForkedWorker() {
    // Reserve the slot synchronously so ensureWorkers counts it.
    const worker = this.newWorker(this.nextWorkerId(), { forked: true });
    this.emit("worker.starting", { workerId: worker.id });
    try {
      const template = await this.ensureTemplate();
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
      if (failure) this.recordStartupFailure(this.describeStartupFailure(failure.phase, failure.type, failure.message, "fork template"));
    }
  }

  private ensureTemplate(): Promise<Template> {
    if (this.template?.alive) return this.template.ready.then(() => this.template!);
    this.templateStarting ??= (async () => {
      const template = new Template({
        linkServer: this.linkServer,
        spawn: (token) => spawnPython({
          python: this.config.python,
          args: ["-m", "pyfleet_bridge.worker", "--adapter", this.config.adapter, "--socket", this.linkServer.path,
            "--worker-id", `${this.name}-template`, "--concurrency", String(this.config.concurrency), "--template"],
          env: { ...this.config.env, PYFLEET_WORKER_TOKEN: token },
          ...(this.config.cwd ? { cwd: this.config.cwd } : {}),
          onOutput: (line, stream) => this.onProcessOutput(`${this.name}-template`, line, stream),
        }),
        startupTimeoutMs: this.config.startupTimeoutMs,
        events: {
          died: (reason) => {
            if (this.template === template) this.template = undefined;
            for (const id of template.forking) this.workers.get(id)?.forkLost(reason);
            template.forking.clear();
            if (!this.closing) this.logger.warn({ reason }, `fork template died: ${reason}`);
          },
          output: (line, stream) => this.onProcessOutput(`${this.name}-template`, line, stream),
        },
      });
      this.template = template;
      try {
        await template.ready;
        if (template.tools.length > 0 && this.toolsByName.size === 0) this.setTools(template.tools);
        return template;
      } finally {
        this.templateStarting = undefined;
      }
    })();
    return this.templateStarting;
  }

  private onWorkerReady(worker: Worker) {
    this.template?.forking.delete(worker.id);
    this.setTools(worker.tools);
    this.startupFailures = 0;
    if (this.circuit !== "closed") {
      this.circuit = "closed";
      this.circuitCooldownMs = this.config.circuitCooldownMs;
      this.emit("circuit.closed", { workerId: worker.id, message: "a worker started; calls flow again" });
    }
    if (this.config.maxWorkerAgeMs > 0 && !worker.remote) {
      setTimeout(() => this.recycle(worker, `reached maxWorkerAgeMs ${this.config.maxWorkerAgeMs}`), this.config.maxWorkerAgeMs).unref();
    }
    this.emit("worker.ready", { workerId: worker.id, pid: worker.pid, ...(worker.group ? { group: worker.group } : {}) });
    this.ensureWorkers();
    this.pump();
  }

  private setTools(tools: ToolSpec[]) {
    this.toolsByName = new Map(tools.map((t) => [t.name, t]));
  }

  private onWorkerDied(worker: Worker, death: WorkerDeath) {
    this.workers.delete(worker.id);
    this.template?.forking.delete(worker.id);
    this.tokens.get(worker.id)?.();
    this.tokens.delete(worker.id);
    const time = Date.now();
    for (const session of this.sessions.takePinned(worker.id)) {
      if (session.affinity === "hint") {
        session.workerId = undefined;
        session.stateLostAt = time;
        session.repinPending = true;
      } else {
        session.broken = true;
      }
    }
    // Strict sessions waiting for this worker will never get it.
    for (const call of [...this.queue]) {
      if (call.session?.broken) {
        this.fail(call, new PyfleetError("unavailable", `session "${call.session.id}" lost its worker ${worker.id} (${death.reason}); create a new session`));
      }
    }
    const stderr = worker.stderrTail();
    if (death.expected && !worker.remote) {
      if (!this.closing) this.emit("worker.recycled", { workerId: worker.id, pid: worker.pid, message: death.reason, ...(worker.group ? { group: worker.group } : {}) });
    } else {
      this.emit("worker.died", { workerId: worker.id, pid: worker.pid, message: death.reason, ...(worker.group ? { group: worker.group } : {}) });
      if (!this.closing && !death.expected) this.logger.warn({ worker: worker.id, pid: worker.pid, reason: death.reason, stderr }, `worker ${worker.id} died: ${death.reason}`);
    }
    // SIGKILL is never the adapter's own doing (an operator, a supervisor or the
    // OOM killer sent it), so it does not count toward the circuit; restarts
    // are still paced by restartIntensity.
    if (death.duringStartup && !death.expected && !worker.remote && death.exit?.signal !== "SIGKILL") {
      const f = death.startupFailure;
      this.recordStartupFailure(f ? this.describeStartupFailure(f.phase, f.type, f.message, `worker ${worker.id}`) : `worker ${worker.id} ${death.reason} before it was ready`);
    }
    if (!worker.remote && !this.closing) {
      this.counters.restarts++;
      this.scheduleEnsure(this.restartDelay());
    }
    this.failQueueIfNoWorkers();
    this.pump();
    this.checkIdle();
  }

  private describeStartupFailure(phase: string, type: string, message: string, who: string): string {
    return `${who} failed to ${phase === "setup" ? "run setup()" : "import the adapter"}: ${type}: ${message}`;
  }

  private recordStartupFailure(description: string) {
    this.startupFailures++;
    this.lastStartupError = description;
    this.logger.error({ failures: this.startupFailures }, description);
    if (this.circuit === "probing" || this.startupFailures >= this.config.circuitThreshold) this.openCircuit();
  }

  private openCircuit() {
    const wasOpen = this.circuit === "open";
    this.circuit = "open";
    const cooldown = this.circuitCooldownMs;
    this.circuitCooldownMs = Math.min(MAX_CIRCUIT_COOLDOWN_MS, cooldown * 2);
    if (!wasOpen) this.emit("circuit.open", { message: this.lastStartupError });
    this.failQueueIfNoWorkers();
    clearTimeout(this.circuitTimer);
    this.circuitTimer = setTimeout(() => {
      this.circuit = "probing";
      this.ensureWorkers();
    }, cooldown);
    this.circuitTimer.unref();
  }

  private hasServingWorkers(): boolean {
    for (const w of this.workers.values()) if (w.state === "ready" || w.state === "busy") return true;
    return false;
  }

  /** With the circuit open and no worker serving, waiting calls would wait for nothing: fail them now. */
  private failQueueIfNoWorkers() {
    if (this.circuit !== "open" || this.hasServingWorkers()) return;
    const error = this.circuitError();
    for (const call of this.queue.splice(0)) this.fail(call, error);
  }

  private circuitError(): PyfleetError {
    return new PyfleetError("unavailable", `pool "${this.name}" cannot start workers: ${this.lastStartupError} (${this.startupFailures} failures in a row); fix the adapter or its environment; the pool tries again every ${Math.round(this.circuitCooldownMs / 1000)} s`);
  }

  private restartDelay(): number {
    const t = Date.now();
    this.recentRestarts.push(t);
    while (this.recentRestarts.length > 0 && this.recentRestarts[0]! < t - RESTART_WINDOW_MS) this.recentRestarts.shift();
    const excess = this.recentRestarts.length - this.config.restartIntensity;
    if (excess <= 0) return 0;
    return Math.min(MAX_RESTART_DELAY_MS, this.config.restartBackoffMs * 2 ** Math.min(excess, 10));
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
    if (worker.state === "dead" || worker.state === "draining" || this.closing) return;
    this.logger.info({ worker: worker.id, reason }, `recycling worker ${worker.id}: ${reason}`);
    worker.drain();
    this.ensureWorkers();
    this.retireIfDrained(worker);
  }

  private retireIfDrained(worker: Worker) {
    if (worker.state === "draining" && worker.inFlight === 0 && !this.closing) {
      void worker.shutdown(this.config.cancelGraceMs);
    }
  }

  private onWorkerLog(worker: Worker, frame: Log, call: ActiveCall | undefined) {
    const fields = { worker: worker.id, pid: worker.pid, logger: frame.logger, ...(call ? { tool: call.request.tool, requestId: call.request.requestId } : {}) };
    switch (frame.level) {
      case LogLevel.DEBUG:
        this.logger.debug(fields, frame.message);
        return;
      case LogLevel.WARNING:
        this.logger.warn(fields, frame.message);
        return;
      case LogLevel.ERROR:
        this.logger.error(fields, frame.message);
        return;
      default:
        this.logger.info(fields, frame.message);
    }
  }

  private onProcessOutput(workerId: string, line: string, stream: "stdout" | "stderr") {
    if (line.trim() === "") return;
    this.logger[stream === "stderr" ? "warn" : "info"]({ worker: workerId, stream }, line);
  }

  // ---- helpers -------------------------------------------------------------

  private countReady(): number {
    let n = 0;
    for (const w of this.workers.values()) if (w.state === "ready" || w.state === "busy") n++;
    return n;
  }

  private assertOpen() {
    if (this.closing) throw new PyfleetError("unavailable", `pool "${this.name}" is shutting down; retry on another server`);
  }

  private emit(kind: PoolEventKind, fields: Omit<PoolEvent, "kind" | "pool" | "time">) {
    const event: PoolEvent = { kind, pool: this.name, time: Date.now(), ...fields };
    this.events.emit(kind, event);
    this.events.emit("event", event);
  }

  /** Resolves when nothing is queued or running, or after `graceMs`. */
  private idle(graceMs: number): Promise<void> {
    if (this.queue.length === 0 && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, graceMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.idleWaiters.push(done);
    });
  }

  private checkIdle() {
    if (this.idleWaiters.length > 0 && this.queue.length === 0 && this.running.size === 0) {
      for (const done of this.idleWaiters.splice(0)) done();
    }
  }
}

export type { AffinityMode };
