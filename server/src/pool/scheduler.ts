// Just over 400 lines on purpose: queueing, dispatch, settle and retry are one
// state machine over the same queue and running set (a retry re-enters the
// queue; a settle may dispatch the next call); worker choice and stealing
// already live in placement.ts, call types in calls.ts.
import type { JsonObject } from "@bufbuild/protobuf";
import { ErrorKind } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import { PyfleetError } from "../errors.js";
import { type CallInfo, type ExecuteOptions, type Outcome, type PendingCall, toolError, unknownToolError } from "./calls.js";
import type { PoolCore } from "./core.js";
import { pickWorker, Stealer } from "./placement.js";
import type { CallSink, Worker, WorkerDeath } from "./worker.js";

/** What the scheduler asks of whoever runs the workers. */
export interface SchedulerHooks {
  /** A call ended on `worker` (it may be due for recycling). */
  callEnded(worker: Worker): void;
  /** A call was taken (run or queued): an autoscaling pool looks at its load. */
  loadChanged(): void;
}

function now(): number {
  return performance.now();
}

/**
 * Where calls wait and run: one queue for calls no worker can take yet
 * (retries and refused dispatches go to its front), the set of running
 * calls, dispatch to the worker placement.ts picks, retries when a worker
 * dies, and settling each call exactly once.
 */
export class Scheduler {
  private readonly queue: PendingCall[] = [];
  private readonly running = new Set<PendingCall>();
  private readonly signalGroups = new WeakMap<AbortSignal, Set<PendingCall>>();
  /** Dial-in worker group -> when one of its workers last took a call. */
  readonly groupActive = new Map<string, number>();
  private readonly workers: Map<string, Worker>;
  private pumping = false;
  private readonly stealer: Stealer;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly core: PoolCore,
    private readonly hooks: SchedulerHooks,
  ) {
    this.workers = core.workers;
    this.stealer = new Stealer(core, () => this.queue.length > 0);
  }

  get queued(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Checks a call, then runs it on a free worker or queues it. Throws when it cannot be taken at all. */
  submit(tool: string, args: JsonObject, options: ExecuteOptions, stream: boolean, outcome: Outcome): PendingCall {
    const core = this.core;
    core.assertOpen();
    if (tool === "") throw new PyfleetError("invalid_argument", "tool is required");
    const spec = core.tools.get(tool);
    if (core.tools.size > 0 && !spec) throw unknownToolError(tool, core.name, core.tools);
    if (spec?.streaming && !stream) {
      throw new PyfleetError("invalid_argument", `tool "${tool}" streams; call it with ExecuteStream`);
    }
    const binaryArgs = options.binaryArgs ?? {};
    for (const name of Object.keys(binaryArgs)) {
      if (name in args) throw new PyfleetError("invalid_argument", `argument "${name}" is in both args and binary_args; pass it once`);
    }
    // An open circuit stops new starts; calls fail fast only when no worker is left to run them.
    if (core.stalled) throw core.circuitError();
    const session = options.sessionId ? core.useSession(options.sessionId, options.owner ?? "") : undefined;
    if (session?.broken) {
      throw new PyfleetError("unavailable", `session "${session.id}" lost its worker (strict affinity) and its state with it; create a new session`);
    }
    const timeouts = [options.timeoutMs, core.config.callTimeoutMs || undefined].filter((t): t is number => t !== undefined && t > 0);
    const start = now();
    const call: PendingCall = {
      request: {
        movable: !session || session.affinity === "hint",
        tool,
        args: options.argsJson ?? Buffer.from(JSON.stringify(args)),
        binaryArgs,
        sessionId: session?.key ?? "",
        stream,
        chunkWindow: core.config.chunkWindow,
        requestId: options.requestId ?? "",
        traceparent: "",
        tracestate: "",
        tenant: options.owner ?? "",
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
      trace: undefined,
    };
    core.counters.callsTotal++;
    if (session) session.calls++;

    if (options.signal) {
      const signal = options.signal;
      if (signal.aborted) {
        // The reason may say why (e.g. the RPC's deadline passed while its request arrived).
        const reason = signal.reason instanceof PyfleetError ? signal.reason : new PyfleetError("canceled", "the call was cancelled before it started");
        core.counters.error(reason.code);
        throw reason;
      }
      call.signalGroup = this.callsOf(signal);
      call.signalGroup.add(call);
    }
    if (options.handle) options.handle.cancel = () => this.fail(call, new PyfleetError("canceled", `call to "${tool}" was cancelled by the caller`));
    // Spans start once the call is taken (every later end path reaches the trace).
    if (options.trace !== undefined) call.trace = options.trace.call(core.name, tool, session?.id ?? "");
    if (call.deadline !== undefined) {
      const ms = call.deadline - start;
      call.timer = setTimeout(() => this.fail(call, this.deadlineError(call, ms)), ms);
    }

    // Queued calls cannot use any free worker (the queue is pumped whenever
    // a slot frees), so a free worker found now may take this call at once.
    const worker = pickWorker(this.workers, call);
    if (worker) {
      this.dispatch(call, worker);
    } else {
      this.enqueue(call, false);
    }
    this.hooks.loadChanged();
    return call;
  }

  private deadlineError(call: PendingCall, ms: number): PyfleetError {
    const tool = call.request.tool;
    // Still waiting, with no worker serving: the pool is starting one (after scaling to zero, or at startup).
    if (!call.active && !this.core.hasServing()) {
      return new PyfleetError("deadline_exceeded", `call to "${tool}" got no worker within its deadline of ${Math.round(ms)} ms: pool "${this.core.name}" has no worker ready yet and is starting one; allow for worker startup in the deadline, or keep workers warm (minSize)`);
    }
    return new PyfleetError("deadline_exceeded", `call to "${tool}" did not finish within its deadline of ${Math.round(ms)} ms`);
  }

  /** Sends queued calls to workers with room, then lets idle workers steal. Called whenever room may have appeared. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      let i = 0;
      while (i < this.queue.length) {
        const call = this.queue[i]!;
        const worker = pickWorker(this.workers, call);
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
    this.stealer.run();
  }

  /** Ends a call with `error` (once; later outcomes are ignored). */
  fail(call: PendingCall, error: PyfleetError): void {
    if (call.settled) return;
    this.core.counters.error(error.code);
    if (call.session) call.session.errors++;
    if (this.settle(call)) {
      call.trace?.ended(error.code);
      call.outcome.fail(error);
      this.checkIdle();
    }
  }

  /** Fails the waiting calls that `error` picks (undefined: leave it waiting). */
  failQueued(error: (call: PendingCall) => PyfleetError | undefined): void {
    for (const call of [...this.queue]) {
      const e = error(call);
      if (e) this.fail(call, e);
    }
  }

  /** With the circuit open and no worker serving, waiting calls would wait for nothing: fail them now. */
  failQueueIfStalled(): void {
    if (!this.core.stalled) return;
    const error = this.core.circuitError();
    for (const call of this.queue.splice(0)) this.fail(call, error);
  }

  /** Fails every queued and running call (shutdown). */
  failAll(error: PyfleetError): void {
    for (const call of [...this.queue, ...this.running]) this.fail(call, error);
  }

  /** Resolves when nothing is queued or running, or after `graceMs`. */
  idle(graceMs: number): Promise<void> {
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

  checkIdle(): void {
    if (this.idleWaiters.length > 0 && this.queue.length === 0 && this.running.size === 0) {
      for (const done of this.idleWaiters.splice(0)) done();
    }
  }

  stop(): void {
    this.stealer.stop();
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
    const scheduler = this;
    // A listener object (see the sink in dispatch for why not an arrow).
    signal.addEventListener("abort", {
      handleEvent() {
        scheduler.signalGroups.delete(signal);
        // The signal's reason may say why (e.g. the RPC's deadline); otherwise the caller cancelled.
        const reason = signal.reason instanceof PyfleetError ? signal.reason : undefined;
        for (const call of [...calls]) {
          scheduler.fail(call, reason ?? new PyfleetError("canceled", `call to "${call.request.tool}" was cancelled by the caller`));
        }
      },
    }, { once: true });
    return calls;
  }

  private enqueue(call: PendingCall, front: boolean) {
    const { config, name } = this.core;
    const session = call.session;
    if (session?.affinity === "strict_fail_fast" && session.workerId) {
      this.fail(call, new PyfleetError("resource_exhausted", `session "${session.id}" is strict_fail_fast and its worker is busy; retry later`));
      return;
    }
    if (!front && this.queue.length >= config.queueMaxSize) {
      this.core.emit("queue.saturated", { message: `queue full (${this.queue.length} waiting)` });
      this.fail(call, new PyfleetError("resource_exhausted", `pool "${name}" is saturated: ${this.queue.length} calls are waiting (queueMaxSize); retry with backoff`));
      return;
    }
    call.queuedAt = now();
    if (front) this.queue.unshift(call);
    else this.queue.push(call);
    call.trace?.queued();
    if (config.queueTimeoutMs > 0 && (call.deadline === undefined || call.deadline - call.queuedAt > config.queueTimeoutMs)) {
      call.queueTimer = setTimeout(() => this.fail(call, new PyfleetError("resource_exhausted",
        `call to "${call.request.tool}" waited ${config.queueTimeoutMs} ms for a worker of pool "${name}" (queueTimeoutMs); the pool is saturated or has no workers`)),
      config.queueTimeoutMs);
    }
  }

  /** Sends a call to a worker; false (and the call queued again) if the worker refuses it. */
  private dispatch(call: PendingCall, worker: Worker): boolean {
    clearTimeout(call.queueTimer);
    call.queueTimer = undefined;
    call.attempts++;
    call.dispatchedAt = now();
    const session = call.session;
    if (session && (!session.workerId || !this.workers.has(session.workerId))) {
      this.core.sessions.pin(session, worker.id);
      if (session.repinPending) {
        session.repinPending = false;
        session.repins++;
        this.core.emit("session.repinned", { sessionId: session.id, workerId: worker.id, pid: worker.pid, message: "its worker died; session-local state was lost" });
      }
    }
    if (worker.group) this.groupActive.set(worker.group, Date.now());
    const timeoutMs = call.deadline === undefined ? 0 : Math.max(1, Math.round(call.deadline - call.dispatchedAt));
    this.running.add(call);
    // Methods, not arrows: under tsx every arrow stored in a property is
    // named at runtime, a cost paid per call.
    const scheduler = this;
    const sink: CallSink = {
      chunk(items) {
        if (call.settled) return;
        call.chunksDelivered += items.length;
        call.outcome.chunk(items, call);
      },
      result(value) {
        scheduler.running.delete(call);
        call.trace?.ran(undefined);
        scheduler.hooks.callEnded(worker);
        scheduler.core.counters.ran(call.request.tool, call.dispatchedAt - call.createdAt, now() - call.dispatchedAt, true);
        if (scheduler.settle(call)) {
          call.outcome.result(value, scheduler.info(call, worker));
          scheduler.checkIdle();
        }
      },
      error(frame) {
        scheduler.running.delete(call);
        if (frame.kind === ErrorKind.NOT_STARTED && !call.settled) {
          // Revoked from behind a slow call before it started: run it elsewhere.
          call.trace?.ran("unavailable");
          call.active = undefined;
          call.attempts--;
          scheduler.enqueue(call, true);
          scheduler.pump();
          return;
        }
        scheduler.hooks.callEnded(worker);
        const core = scheduler.core;
        core.counters.ran(call.request.tool, call.dispatchedAt - call.createdAt, now() - call.dispatchedAt, false);
        const error = toolError(frame, call.request.tool, worker, core.name, core.tools);
        call.trace?.ran(error.code);
        scheduler.fail(call, error);
      },
      lost(death, queued) {
        scheduler.running.delete(call);
        call.trace?.ran("unavailable");
        scheduler.onCallLost(call, worker, death, queued);
      },
    };
    const trace = call.trace;
    try {
      // With tracing on, the run's span context goes to Python with the call.
      const request = trace === undefined
        ? { ...call.request, timeoutMs }
        : { ...call.request, timeoutMs, ...trace.dispatching(worker.id, call.attempts) };
      call.active = { worker, call: worker.call(request, sink) };
      trace?.sent(false);
      return true;
    } catch (e) {
      trace?.sent(true);
      // The worker cannot take it after all (its link just closed): back to the front of the queue.
      this.running.delete(call);
      call.attempts--;
      this.core.logger.debug({ worker: worker.id, err: e }, "dispatch refused; the call waits for another worker");
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

  /** The worker running (or holding) a call died: retry it elsewhere if that is safe, else fail it. */
  private onCallLost(call: PendingCall, worker: Worker, death: WorkerDeath, queued: boolean) {
    call.active = undefined;
    if (call.settled) return;
    const config = this.core.config;
    // Prefetched behind another call, it most likely never ran: the retry
    // budget (maxAttempts) is for calls that may have killed their worker.
    if (queued && call.idempotent) call.attempts--;
    const session = call.session;
    const strict = session !== undefined && session.affinity !== "hint";
    const retryable = call.idempotent && !strict && call.chunksDelivered === 0 && call.attempts < config.maxAttempts && !this.core.closing;
    if (!retryable) {
      const why = strict ? "its session is strict and its state is lost"
        : call.chunksDelivered > 0 ? "the stream had already sent chunks"
        : call.idempotent ? `it was tried ${call.attempts} times (maxAttempts)`
        : "the tool is not idempotent, so it was not retried";
      this.fail(call, new PyfleetError("unavailable", `worker ${worker.id} died while running "${call.request.tool}" (${death.reason}); ${why}`));
      return;
    }
    this.core.counters.retries++;
    const delay = config.retryBackoffMs * 2 ** (call.attempts - 1);
    const retry = () => {
      if (call.settled) return;
      this.enqueue(call, true);
      this.pump();
    };
    if (delay > 0) setTimeout(retry, delay).unref();
    else retry();
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
}
