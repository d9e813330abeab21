import { describe, expect, it } from "vitest";
import { PyfleetError } from "../../src/errors.js";
import type { Pool, PoolEvent } from "../../src/pool/index.js";
import { parentOf } from "../procs.js";
import { rejection } from "../helpers.js";
import { startPool } from "./helpers.js";

// Autoscaling pools of real Python workers. Delays are small so the tests are
// quick; every wait is for an event (or a call's answer), with the test's timeout.

/** Every event of the pool from now on, and a way to wait for one that matches. */
function record(pool: Pool) {
  const seen: PoolEvent[] = [];
  const waiters: { match: (e: PoolEvent) => boolean; resolve: (e: PoolEvent) => void }[] = [];
  pool.events.on("event", (e: PoolEvent) => {
    seen.push(e);
    for (const w of [...waiters]) {
      if (w.match(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  return {
    seen,
    /** The next event (from now) that matches. */
    next(match: (e: PoolEvent) => boolean): Promise<PoolEvent> {
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    /** Resolves once `n` events of `kind` have been seen in all. */
    count(kind: PoolEvent["kind"], n: number): Promise<void> {
      const have = () => seen.filter((e) => e.kind === kind).length;
      if (have() >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ match: (e) => e.kind === kind && have() >= n, resolve: () => resolve() }));
    },
  };
}

/** Local workers that are starting, ready or busy. */
function liveWorkers(pool: Pool): number {
  return pool.workerSummaries().filter((w) => w.state !== "draining" && w.state !== "dead").length;
}

describe("autoscaling", () => {
  it("a burst grows the pool to maxSize and never above, with a scale.up event saying why", async () => {
    const pool = await startPool({ minSize: 1, maxSize: 3, scaleUpDelayMs: 50, scaleDownDelayMs: 60_000 });
    const events = record(pool);
    let most = 0;
    pool.events.on("event", () => (most = Math.max(most, liveWorkers(pool))));
    const threeServing = events.count("worker.ready", 2);
    const burst = Array.from({ length: 12 }, () => pool.call("sleep", { seconds: 0.4 }));
    await threeServing;
    const results = await Promise.all(burst);
    expect(results.map((r) => r.value)).toEqual(Array(12).fill({ slept: 0.4 }));
    // The burst's calls ran on all three workers.
    expect(new Set(results.map((r) => r.info.workerId)).size).toBe(3);
    const ups = events.seen.filter((e) => e.kind === "scale.up");
    expect(ups.map((e) => [e.scale!.reason, e.scale!.fromWorkers, e.scale!.toWorkers])).toEqual([["load", 1, 3]]);
    expect(ups[0]!.scale!.queueDepth + ups[0]!.scale!.inFlight).toBe(12);
    expect(ups[0]!.message).toContain("maxSize 3");
    expect(most).toBe(3);
    expect(liveWorkers(pool)).toBe(3);
    expect(pool.stats()).toMatchObject({ workersDesired: 3, scaleEvents: { "up:load": 1 } });
  });

  it("idle workers are retired after scaleDownDelayMs, down to minSize and no further; retiring is no restart", async () => {
    const pool = await startPool({ minSize: 1, maxSize: 3, scaleUpDelayMs: 0, scaleDownDelayMs: 200 });
    const events = record(pool);
    const grown = events.count("worker.ready", 2);
    const burst = Array.from({ length: 6 }, () => pool.execute("sleep", { seconds: 0.3 }));
    await grown;
    await Promise.all(burst);
    await events.count("scale.down", 2);
    const downs = events.seen.filter((e) => e.kind === "scale.down");
    expect(downs.map((e) => [e.scale!.reason, e.scale!.fromWorkers, e.scale!.toWorkers])).toEqual([["idle", 3, 2], ["idle", 2, 1]]);
    expect(downs.every((e) => e.workerId && e.message?.includes("scaleDownDelayMs 200"))).toBe(true);
    // The one left serves; the retired ones exited without a death or a restart.
    expect(await pool.execute("echo", { x: 1 })).toEqual({ x: 1 });
    expect(events.seen.filter((e) => e.kind === "worker.died" || e.kind === "worker.recycled")).toEqual([]);
    expect(pool.stats()).toMatchObject({ workersDesired: 1, restarts: 0, scaleEvents: { "up:load": 1, "down:idle": 2 } });
    expect(liveWorkers(pool)).toBe(1);
  });

  it("scales to zero: ready at once with no worker, the first call starts one from the fork template and is served", async () => {
    const pool = await startPool({ minSize: 0, maxSize: 2, scaleDownDelayMs: 150 });
    const events = record(pool);
    expect(liveWorkers(pool)).toBe(0);
    const first = await pool.call("pid", {}, { timeoutMs: 10_000 });
    expect(first.value).toBe(first.info.workerPid);
    const up = events.seen.find((e) => e.kind === "scale.up")!;
    expect(up.scale).toEqual({ reason: "cold_start", fromWorkers: 0, toWorkers: 1, queueDepth: 1, inFlight: 0 });
    // Forked from the template, which kept the import: growing is a fork.
    expect(pool.startModeInUse).toBe("auto: fork");
    expect(parentOf(first.info.workerPid)).not.toBe(process.pid);
    // Idle again: back to zero, then the next call starts a worker again.
    const down = await events.next((e) => e.kind === "scale.down");
    expect(down.scale).toMatchObject({ reason: "idle", fromWorkers: 1, toWorkers: 0 });
    expect(down.workerId).toBe(first.info.workerId);
    const again = await pool.call("pid", {}, { timeoutMs: 10_000 });
    expect(again.info.workerId).not.toBe(first.info.workerId);
    expect(pool.stats().scaleEvents).toEqual({ "up:cold_start": 2, "down:idle": 1 });
  });

  it("a call to a pool scaled to zero whose worker cannot start in time gets DEADLINE_EXCEEDED; a worker that cannot start gives the startup error", async () => {
    const slow = await startPool({ minSize: 0, maxSize: 1, startMode: "spawn", adapter: "pyfleet_bridge.testing.slow_import:SlowImportAdapter", env: { PYFLEET_TEST_IMPORT_SECONDS: "2" } });
    const late = await rejection(slow.execute("echo", {}, { timeoutMs: 300 }), PyfleetError);
    expect(late.code).toBe("deadline_exceeded");
    expect(late.message).toContain("no worker ready yet");

    const broken = await startPool({ minSize: 0, maxSize: 1, circuitThreshold: 1, circuitCooldownMs: 60_000, adapter: "pyfleet_bridge.testing.broken_import:Adapter" });
    const failed = await rejection(broken.execute("echo", {}, { timeoutMs: 20_000 }), PyfleetError);
    expect(failed.code).toBe("unavailable");
    expect(failed.message).toContain("boom at import");
  });

  it("never retires a worker that holds a session; once the session ends, it goes too", async () => {
    const pool = await startPool({ minSize: 0, maxSize: 2, targetInflight: 1, prefetch: 0, scaleUpDelayMs: 0, scaleDownDelayMs: 1_000 });
    const events = record(pool);
    const two = events.count("worker.ready", 2);
    const warm = [pool.execute("sleep", { seconds: 0.3 }), pool.execute("sleep", { seconds: 0.3 })];
    await two;
    await Promise.all(warm);
    const session = pool.createSession({});
    // The session's worker goes idle first, so it would be the first retired if sessions did not hold it.
    const [held, other] = await Promise.all([
      pool.call("sleep", { seconds: 0.1 }, { sessionId: session.id }),
      pool.call("sleep", { seconds: 0.5 }),
    ]);
    expect(held.info.workerId).not.toBe(other.info.workerId);
    const firstDown = await events.next((e) => e.kind === "scale.down");
    expect(firstDown.workerId).toBe(other.info.workerId);
    expect(firstDown.scale).toMatchObject({ reason: "idle", fromWorkers: 2, toWorkers: 1 });
    // Still there, and the session's calls still reach it.
    expect((await pool.call("pid", {}, { sessionId: session.id })).info.workerId).toBe(held.info.workerId);
    const secondDown = events.next((e) => e.kind === "scale.down");
    pool.deleteSession(session.id);
    expect((await secondDown).workerId).toBe(held.info.workerId);
    expect(pool.stats().workersDesired).toBe(0);
  });
});
