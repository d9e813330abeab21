import { readdirSync, readFileSync } from "node:fs";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { PyfleetError } from "../../src/errors.js";
import type { CallHandle, StreamEvent } from "../../src/pool/index.js";
import { isAlive, parentOf, until, waitForExit } from "../procs.js";
import { rejection } from "../helpers.js";
import { nextEvent, pidOf, startPool } from "./helpers.js";

/** Fork templates of this process whose adapter module mentions `adapter`. */
function templatesOf(adapter: string): number[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      return cmd.includes("--template") && cmd.includes(adapter) && parentOf(Number(d)) === process.pid;
    } catch {
      return false;
    }
  }).map(Number);
}

describe("starting and calling", () => {
  it("starts its workers, lists the sample tools with their schemas, and runs calls", async () => {
    const pool = await startPool({ size: 2 });
    expect(pool.stats()).toMatchObject({ workersReady: 2, workersStarting: 0, inFlight: 0 });
    const tools = Object.fromEntries(pool.tools().map((t) => [t.name, t]));
    expect(tools.echo?.idempotent).toBe(true);
    expect(tools.count?.streaming).toBe(true);
    expect(tools.add?.parameters.map((p) => [p.name, p.type, p.required])).toEqual([["a", "number", true], ["b", "number", true]]);
    expect(await pool.execute("echo", { x: 1, s: "é" })).toEqual({ x: 1, s: "é" });
    expect(await pool.execute("add", { a: 2, b: 0.5 })).toBe(2.5);
    const result = await pool.call("pid");
    expect(result.info.attempts).toBe(1);
    expect(result.value).toBe(result.info.workerPid);
  });

  it("reports a Python exception with its type, message and traceback", async () => {
    const pool = await startPool();
    const error = await rejection(pool.execute("fail", { message: "boom" }), PyfleetError);
    expect(error.code).toBe("unknown");
    expect(error.toolError).toMatchObject({ type: "ValueError", message: "boom", tool: "fail" });
    expect(error.toolError?.traceback).toContain("Traceback");
  });

  it("rejects unknown tools, bad arguments and streaming tools called as unary", async () => {
    const pool = await startPool();
    const unknown = await rejection(pool.execute("ech0"), PyfleetError);
    expect(unknown.code).toBe("not_found");
    expect(unknown.message).toContain("known tools: ");
    expect(unknown.message).toContain("echo");
    const bad = await rejection(pool.execute("add", { a: "x", b: 1 }), PyfleetError);
    expect(bad.code).toBe("invalid_argument");
    expect(bad.message).toContain('"a"');
    const missing = await rejection(pool.execute("add", { a: 1 }), PyfleetError);
    expect(missing.code).toBe("invalid_argument");
    expect(missing.message).toContain('"b"');
    expect((await rejection(pool.execute("count", { n: 3 }), PyfleetError)).code).toBe("invalid_argument");
  });

  it("streams a generator's chunks, then its end", async () => {
    const pool = await startPool();
    const events: StreamEvent[] = [];
    for await (const event of pool.executeStream("count", { n: 5 })) events.push(event);
    expect(events.slice(0, 5).map((e) => e.kind === "chunk" && e.value)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
    // Each chunk also carries the worker's JSON text, for callers that pass it on unparsed.
    expect(events[0]?.kind === "chunk" && new TextDecoder().decode(events[0].json)).toBe('{"i":0}');
    expect(events[5]).toMatchObject({ kind: "done", chunks: 5 });
  });

  it("stops the Python generator when the reader leaves the stream", async () => {
    const pool = await startPool();
    const before = await pidOf(pool);
    let read = 0;
    for await (const event of pool.executeStream("count", { n: 10_000_000 })) {
      expect(event.kind).toBe("chunk");
      if (++read === 3) break;
    }
    // With one worker of concurrency 1, this call only runs once Python has
    // really stopped the generator (well before the 5 s cancel grace).
    expect(await pidOf(pool)).toBe(before);
    expect(pool.stats().restarts).toBe(0);
  });
});

describe("deadlines and cancellation", () => {
  it("a deadline cancels a running sleep in Python", async () => {
    const pool = await startPool({ cancelGraceMs: 10_000 });
    const before = await pidOf(pool);
    const error = await rejection(pool.execute("sleep", { seconds: 60 }, { timeoutMs: 300 }), PyfleetError);
    expect(error.code).toBe("deadline_exceeded");
    expect(await pidOf(pool)).toBe(before);
    expect(pool.stats().restarts).toBe(0);
  });

  it("an aborted signal cancels the call and Python stops", async () => {
    const pool = await startPool({ cancelGraceMs: 10_000 });
    const before = await pidOf(pool);
    const abort = new AbortController();
    const call = pool.execute("sleep", { seconds: 60 }, { signal: abort.signal });
    abort.abort();
    expect((await rejection(call, PyfleetError)).code).toBe("canceled");
    expect(await pidOf(pool)).toBe(before);
  });

  it("calls sharing one signal: a finished one keeps its result, the others end with the signal's reason", async () => {
    const pool = await startPool({ cancelGraceMs: 10_000 });
    const abort = new AbortController();
    expect((await pool.call("add", { a: 1, b: 2 }, { signal: abort.signal })).value).toBe(3);
    const running = [1, 2, 3].map(() => rejection(pool.execute("sleep", { seconds: 60 }, { signal: abort.signal }), PyfleetError));
    abort.abort(new PyfleetError("deadline_exceeded", "the stream's deadline passed"));
    for (const error of await Promise.all(running)) expect(error).toMatchObject({ code: "deadline_exceeded", message: "the stream's deadline passed" });
    // A call started after the signal aborted fails with its reason too.
    expect(await rejection(pool.execute("echo", {}, { signal: abort.signal }), PyfleetError)).toMatchObject({ code: "deadline_exceeded", message: "the stream's deadline passed" });
    expect(await pool.execute("add", { a: 2, b: 2 })).toBe(4);
  });

  it("a call's handle cancels it alone; the calls sharing its signal run on", async () => {
    const pool = await startPool({ cancelGraceMs: 10_000 });
    const before = await pidOf(pool);
    const shared = new AbortController().signal;
    const handle: CallHandle = {};
    const cancelled = pool.execute("sleep", { seconds: 60 }, { signal: shared, handle });
    const other = pool.execute("add", { a: 1, b: 2 }, { signal: shared });
    handle.cancel!();
    expect(await rejection(cancelled, PyfleetError)).toMatchObject({ code: "canceled", message: 'call to "sleep" was cancelled by the caller' });
    expect(await other).toBe(3);
    // Python stopped the sleep: the worker is free (the same pid answers), and a late cancel does nothing.
    expect(await pidOf(pool)).toBe(before);
    handle.cancel!();
    expect(pool.stats().restarts).toBe(0);
  });

  it("a queued call whose deadline passes gets DEADLINE_EXCEEDED", async () => {
    const pool = await startPool();
    const abort = new AbortController();
    const busy = pool.execute("sleep", { seconds: 60 }, { signal: abort.signal }).catch(() => {});
    const error = await rejection(pool.execute("echo", {}, { timeoutMs: 200 }), PyfleetError);
    expect(error.code).toBe("deadline_exceeded");
    abort.abort();
    await busy;
  });

  it("kills a worker whose cancelled call never stops, and replaces it", async () => {
    const pool = await startPool({ adapter: "pyfleet_bridge.testing.chaos:ChaosAdapter", cancelGraceMs: 300 });
    const before = await pidOf(pool);
    const died = nextEvent(pool, "worker.died");
    const error = await rejection(pool.execute("hang", {}, { timeoutMs: 200 }), PyfleetError);
    expect(error.code).toBe("deadline_exceeded");
    expect((await died).message).toContain("did not stop");
    expect(await pidOf(pool)).not.toBe(before);
  });
});

describe("queue", () => {
  it("answers RESOURCE_EXHAUSTED at once when the queue is full", async () => {
    const pool = await startPool({ queueMaxSize: 2, prefetch: 0 });
    const abort = new AbortController();
    const held = [1, 2, 3].map(() => pool.execute("sleep", { seconds: 60 }, { signal: abort.signal }).catch((e: unknown) => e));
    expect(pool.stats()).toMatchObject({ inFlight: 1, queueDepth: 2 });
    const saturated = nextEvent(pool, "queue.saturated");
    const error = await rejection(pool.execute("echo"), PyfleetError);
    expect(error.code).toBe("resource_exhausted");
    await saturated;
    abort.abort();
    for (const e of await Promise.all(held)) expect((e as PyfleetError).code).toBe("canceled");
  });
});

describe("prefetch", () => {
  it("queues a call at a busy worker so it starts without a round trip", async () => {
    const pool = await startPool({ size: 1, prefetch: 1 });
    const first = pool.call("sleep", { seconds: 0.2 });
    const second = pool.call("echo", { n: 2 });
    expect(pool.stats()).toMatchObject({ inFlight: 2, queueDepth: 0 });
    const third = pool.call("echo", { n: 3 });
    expect(pool.stats().queueDepth).toBe(1);
    const results = await Promise.all([first, second, third]);
    expect(results.map((r) => r.value)).toEqual([{ slept: 0.2 }, { n: 2 }, { n: 3 }]);
  });

  it("moves a prefetched call off a worker stuck in a slow call to a worker that becomes idle", async () => {
    const pool = await startPool({ size: 2, prefetch: 1, prefetchStealMs: 20 });
    const slow = pool.call("sleep", { seconds: 60 });
    const short = pool.call("sleep", { seconds: 0.2 });
    const slowWorker = pool.workerSummaries().find((w) => w.inFlight === 1)!.id;
    // Answered while the slow call still runs, by the other worker (not by waiting the slow call out).
    const moved = await pool.call("echo", { moved: true });
    expect(moved.value).toEqual({ moved: true });
    expect(moved.info.workerId).not.toBe(slowWorker);
    await short;
    expect(pool.workerSummaries().find((w) => w.id === slowWorker)?.inFlight).toBe(1);
    void slow.catch(() => {});
  });
});

describe("worker crashes", () => {
  it("retries an idempotent call on another worker when its worker is SIGKILLed mid-call", async () => {
    const pool = await startPool({ size: 2 });
    const call = pool.call("sleep", { seconds: 0.5 }, { idempotent: true });
    const victim = pool.workerSummaries().find((w) => w.inFlight === 1)!;
    const replaced = nextEvent(pool, "worker.ready");
    process.kill(victim.pid, "SIGKILL");
    const result = await call;
    expect(result.info.attempts).toBe(2);
    expect(result.info.workerId).not.toBe(victim.id);
    await replaced;
    expect(pool.stats()).toMatchObject({ workersReady: 2, restarts: 1, retries: 1 });
  });

  it("fails a non-idempotent call with UNAVAILABLE when its worker is SIGKILLed", async () => {
    const pool = await startPool({ size: 2 });
    const call = pool.execute("sleep", { seconds: 30 });
    const victim = pool.workerSummaries().find((w) => w.inFlight === 1)!;
    process.kill(victim.pid, "SIGKILL");
    const error = await rejection(call, PyfleetError);
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("SIGKILL");
    expect(error.message).toContain("not idempotent");
  });

  it("opens the circuit when the adapter cannot be imported, naming the Python exception", async () => {
    const pool = await startPool({ adapter: "pyfleet_bridge.testing.broken_import:Adapter", circuitThreshold: 2, circuitCooldownMs: 60_000 }, { waitReady: false });
    const error = await rejection(pool.ready(), PyfleetError);
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("boom at import");
    const fast = await rejection(pool.execute("echo"), PyfleetError);
    expect(fast.code).toBe("unavailable");
    expect(pool.stats().circuitOpen).toBe(true);
  });

  it("kills a worker that stops answering heartbeats", async () => {
    const pool = await startPool({ heartbeatIntervalMs: 100, heartbeatMisses: 2 });
    const pid = await pidOf(pool);
    const died = nextEvent(pool, "worker.died");
    process.kill(pid, "SIGSTOP");
    expect((await died).message).toContain("heartbeats");
    expect(await pidOf(pool)).not.toBe(pid);
  });
});

describe("sessions", () => {
  it("pins a session: 100 calls land on one worker", async () => {
    const pool = await startPool({ size: 2 });
    const session = pool.createSession({});
    const pids = new Set<number>();
    for (let i = 0; i < 100; i++) pids.add(await pidOf(pool, { sessionId: session.id }));
    expect(pids.size).toBe(1);
    expect(await pool.execute("counter", {}, { sessionId: session.id })).toBe(1);
    expect(await pool.execute("counter", {}, { sessionId: session.id })).toBe(2);
    expect(pool.getSession(session.id).calls).toBe(102);
  });

  it("re-pins a hint session after its worker dies and records the lost state", async () => {
    const pool = await startPool({ size: 2 });
    const session = pool.createSession({ affinity: "hint" });
    expect(await pool.execute("counter", {}, { sessionId: session.id })).toBe(1);
    const first = await pidOf(pool, { sessionId: session.id });
    const died = nextEvent(pool, "worker.died");
    process.kill(first, "SIGKILL");
    await died;
    expect(pool.getSession(session.id).stateLostAt).toBeGreaterThan(0);
    const repinned = nextEvent(pool, "session.repinned");
    expect(await pool.execute("counter", {}, { sessionId: session.id })).toBe(1);
    expect((await repinned).sessionId).toBe(session.id);
    expect(await pidOf(pool, { sessionId: session.id })).not.toBe(first);
    expect(pool.getSession(session.id).repins).toBe(1);
  });

  it("fails a strict session once its worker is gone", async () => {
    const pool = await startPool({ size: 2 });
    const session = pool.createSession({ affinity: "strict_queue" });
    const pid = await pidOf(pool, { sessionId: session.id });
    const died = nextEvent(pool, "worker.died");
    process.kill(pid, "SIGKILL");
    await died;
    expect((await rejection(pool.execute("echo", {}, { sessionId: session.id }), PyfleetError)).code).toBe("unavailable");
  });

  it("strict_fail_fast refuses at once while its worker is busy; strict_queue waits", async () => {
    const pool = await startPool({ size: 2 });
    const fast = pool.createSession({ affinity: "strict_fail_fast" });
    const queued = pool.createSession({ affinity: "strict_queue" });
    await pidOf(pool, { sessionId: fast.id });
    const busy = pool.execute("sleep", { seconds: 0.3 }, { sessionId: fast.id });
    expect((await rejection(pool.execute("echo", {}, { sessionId: fast.id }), PyfleetError)).code).toBe("resource_exhausted");
    await busy;
    const pinned = await pidOf(pool, { sessionId: queued.id });
    const slow = pool.execute("sleep", { seconds: 0.2 }, { sessionId: queued.id });
    expect(await pidOf(pool, { sessionId: queued.id })).toBe(pinned);
    await slow;
  });

  it("keeps other tenants out", async () => {
    const pool = await startPool();
    const session = pool.createSession({ owner: "alice" });
    expect((await rejection(pool.execute("echo", {}, { sessionId: session.id, owner: "bob" }), PyfleetError)).code).toBe("not_found");
    expect(() => pool.getSession(session.id, "bob")).toThrow(/no session/);
  });
});

describe("session variables from Python", () => {
  it("Python reads client values and its writes reach a watcher", async () => {
    const pool = await startPool();
    const session = pool.createSession({});
    const { create } = await import("@bufbuild/protobuf");
    const { TypedValueSchema } = await import("@pyfleet/sdk/gen/pyfleet/pool/v1/variable_pb");
    pool.setVariable(session.id, { name: "greeting", value: create(TypedValueSchema, { kind: { case: "stringValue", value: "hi" } }) });
    expect(await pool.execute("getvar", { name: "greeting" }, { sessionId: session.id })).toBe("hi");

    const abort = new AbortController();
    const changes = pool.watchVariables(session.id, { names: ["n"], signal: abort.signal })[Symbol.asyncIterator]();
    const next = changes.next();
    await pool.execute("setvar", { name: "n", value: 42 }, { sessionId: session.id });
    const change = (await next).value!;
    expect(change.change).toBe("set");
    expect(change.variable.updatedBy).toBe("tool:setvar");
    expect(change.variable.value?.kind).toEqual({ case: "intValue", value: 42n });
    abort.abort();
  });

  it("a variable read without a session fails in Python with a clear error", async () => {
    const pool = await startPool();
    const error = await rejection(pool.execute("getvar", { name: "x" }), PyfleetError);
    expect(error.code).toBe("unknown");
    expect(error.message).toMatch(/session/);
  });
});

describe("recycling, fork mode and shutdown", () => {
  it("recycles a worker after maxCallsPerWorker calls", async () => {
    const pool = await startPool({ maxCallsPerWorker: 3 });
    const first = await pidOf(pool);
    const recycled = nextEvent(pool, "worker.recycled");
    await pidOf(pool);
    await pidOf(pool);
    await recycled;
    expect(await pidOf(pool)).not.toBe(first);
  });

  it("fork mode forks N workers with distinct pids from one template", async () => {
    const pool = await startPool({ size: 3, startMode: "fork" });
    const workerPids = pool.workerSummaries().map((w) => w.pid);
    expect(new Set(workerPids).size).toBe(3);
    const parents = new Set(workerPids.map(parentOf));
    expect(parents.size).toBe(1);
    expect(parents.has(process.pid)).toBe(false);
    // Three calls at once go to three workers (each runs one call at a time).
    const answered = await Promise.all([1, 2, 3].map(() => pidOf(pool)));
    expect(new Set(answered)).toEqual(new Set(workerPids));
  });

  it("auto mode forks when the adapter is safe to fork, and spawns when its import starts a thread", async () => {
    const forked = await startPool({ size: 2 });
    expect(forked.startModeInUse).toBe("auto: fork");
    const forkedParents = new Set(forked.workerSummaries().map((w) => parentOf(w.pid)));
    expect(forkedParents.size).toBe(1);
    expect(forkedParents.has(process.pid)).toBe(false);
    const spawned = await startPool({ size: 2, adapter: "pyfleet_bridge.testing.thread_import:ThreadImportAdapter" });
    expect(spawned.startModeInUse).toBe("auto: spawn");
    expect(new Set(spawned.workerSummaries().map((w) => parentOf(w.pid)))).toEqual(new Set([process.pid]));
    expect(await spawned.execute("echo", { a: 1 })).toEqual({ a: 1 });
    // The template that found the thread stops.
    await until(() => templatesOf("thread_import").length === 0, 5_000, "the unsafe template to exit");
  });

  it("close() lets a running call finish and leaves no Python process behind", async () => {
    const pool = await startPool({ size: 2 });
    const pids = pool.workerSummaries().map((w) => w.pid);
    const running = pool.execute("sleep", { seconds: 0.3 });
    await pool.close(5_000);
    expect(await running).toEqual({ slept: 0.3 });
    await waitForExit(pids, 2_000);
    expect((await rejection(pool.execute("echo"), PyfleetError)).code).toBe("unavailable");
  });

  it.each(["spawn", "fork"])("leaves no Python process when the process owning a %s pool is SIGKILLed", async (mode) => {
    const host = execa("node", ["--conditions=pyfleet-source", "--import", "tsx", "server/test/pool/fixtures/host.ts", mode], { reject: false });
    const line = await new Promise<string>((resolve, reject) => {
      host.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString()));
      void host.then((r) => reject(new Error(`host exited early: ${r.stderr}`)));
    });
    const { pids } = JSON.parse(line) as { pids: number[] };
    expect(pids.length).toBeGreaterThanOrEqual(2);
    expect(pids.every(isAlive)).toBe(true);
    host.kill("SIGKILL");
    await host;
    await waitForExit(pids, 3_000);
  });
});
