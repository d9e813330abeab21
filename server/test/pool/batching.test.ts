import { createClient, PyfleetError } from "@pyfleet/sdk/node";
import { describe, expect, it, onTestFinished } from "vitest";
import { rejection, startServer } from "../helpers.js";
import { reportSocket } from "./helpers.js";

// Batch tools end to end: a real server, real Python workers, the TypeScript
// SDK as the callers. Each result says how many calls its batch held.
const ADAPTER = "pyfleet_bridge.testing.batching:BatchAdapter";

interface Item {
  x: number;
  size: number;
  pid?: number;
}

async function batchPool(size: number) {
  const server = await startServer({ pools: [{ name: "default", adapter: ADAPTER, size }] });
  await server.ready();
  const client = createClient({ baseUrl: server.url });
  onTestFinished(() => client.close());
  return client.pool;
}

/** The marker a blocking batch reports to once it runs, and that report: its size and worker pid. */
async function batchMarker(): Promise<{ marker: string; started: () => Promise<{ size: number; pid: number }> }> {
  const { path, report } = await reportSocket();
  const started = async () => {
    const [size, pid] = (await report()).split(" ").map(Number);
    return { size: size!, pid: pid! };
  };
  return { marker: path, started };
}

describe("batch tools", () => {
  it("lists a batch tool's size and wait", async () => {
    const pool = await batchPool(1);
    const tools = Object.fromEntries((await pool.tools()).map((t) => [t.name, t]));
    expect([tools.full?.batchSize, tools.full?.batchWaitMs, tools.full?.returns]).toEqual([16, 10_000, "dict[str, int]"]);
    expect([tools.forward_one?.batchSize, tools.forward_one?.batchWaitMs]).toEqual([0, 0]);
    expect(tools.full?.parameters.map((p) => [p.name, p.type])).toEqual([["x", "integer"]]);
  });

  it("gives 64 concurrent callers each their own result, from full batches", async () => {
    const pool = await batchPool(1);
    // `full` waits 10 s for a batch to fill: only full batches of 16 can have run.
    const results = (await Promise.all(Array.from({ length: 64 }, (_, i) => pool.execute("full", { x: i })))) as unknown as Item[];
    expect(results).toEqual(Array.from({ length: 64 }, (_, i) => ({ x: 2 * i, size: 16 })));
  });

  it("spreads the callers of a batch tool over the workers, in batches", async () => {
    const pool = await batchPool(2);
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => pool.call("double", { x: i })));
    expect(results.map((r) => r.value)).toEqual(Array.from({ length: 64 }, (_, i) => ({ x: 2 * i, size: expect.any(Number) as number })));
    const sizes = results.map((r) => (r.value as unknown as Item).size);
    // Each batch of s calls answers s of them: every size's count is a multiple of it.
    for (const s of new Set(sizes)) expect(sizes.filter((v) => v === s).length % s).toBe(0);
    expect(Math.max(...sizes)).toBe(4);
    expect(new Set(results.map((r) => r.info.workerPid)).size).toBe(2);
  });

  it("maps a per-call error to its own caller, and a whole-batch error to every caller", async () => {
    const pool = await batchPool(1);
    const xs = [1, -2, 3, -4, 5, 6];
    const outcomes = await Promise.all(xs.map((x) => pool.execute("check", { x, scale: 10 }).then((v) => v, (e: unknown) => e)));
    outcomes.forEach((outcome, i) => {
      const x = xs[i]!;
      if (x < 0) {
        expect(outcome).toBeInstanceOf(PyfleetError);
        const error = outcome as PyfleetError;
        expect([error.code, error.toolError?.type, error.toolError?.message]).toEqual(["unknown", "ValueError", `negative x: ${x}`]);
      } else {
        expect(outcome).toMatchObject({ x: x * 10 });
      }
    });
    const all = await Promise.all([1, 2, 3].map((x) => rejection(pool.execute("explode", { x }), PyfleetError)));
    for (const error of all) expect([error.code, error.toolError?.type, error.toolError?.message]).toEqual(["unknown", "RuntimeError", "the batch of 3 failed"]);
    const short = await Promise.all([1, 2, 3].map((x) => rejection(pool.execute("short", { x }), PyfleetError)));
    for (const error of short) {
      expect([error.code, error.toolError?.type]).toEqual(["unknown", "TypeError"]);
      expect(error.toolError?.message).toBe('batch tool "short" returned 2 results for a batch of 3 calls; it must return a list with one result per call, in the order of its arguments');
    }
  });

  it("leaves out of the batch a call whose deadline passed or whose caller cancelled", async () => {
    const pool = await batchPool(1);
    const late = await rejection(pool.execute("full", { x: -1 }, { timeoutMs: 100 }), PyfleetError);
    expect(late.code).toBe("deadline_exceeded");
    const abort = new AbortController();
    const cancelled = pool.execute("full", { x: -2 }, { signal: abort.signal });
    abort.abort();
    expect((await rejection(cancelled, PyfleetError)).code).toBe("canceled");
    // Had either stayed in the worker's batch, 16 more calls would not fill it exactly.
    const results = (await Promise.all(Array.from({ length: 16 }, (_, i) => pool.execute("full", { x: i })))) as unknown as Item[];
    expect(results).toEqual(Array.from({ length: 16 }, (_, i) => ({ x: 2 * i, size: 16 })));
  });

  it("answers a call cancelled while its batch runs at once, and the batch's other calls still get theirs", async () => {
    const pool = await batchPool(1);
    const { marker, started: batchStarted } = await batchMarker();
    const abort = new AbortController();
    const first = pool.execute("block", { x: 1, marker }, { signal: abort.signal });
    const second = pool.execute("block", { x: 2 });
    const started = await batchStarted();
    expect(started.size).toBe(2);
    // `block` returns once one of its calls is cancelled.
    abort.abort();
    expect((await rejection(first, PyfleetError)).code).toBe("canceled");
    expect(await second).toEqual({ x: 2, size: 2, pid: started.pid });
    expect(await pool.execute("eager", { x: 4 })).toEqual({ x: 8, size: 1 });
  });

  it("retries idempotent calls of a batch whose worker is SIGKILLed mid-batch, on its replacement", async () => {
    const pool = await batchPool(1);
    const { marker, started: batchStarted } = await batchMarker();
    const calls = [1, 2, 3, 4].map((x) => pool.call("block", { x, marker }));
    const started = await batchStarted();
    process.kill(started.pid, "SIGKILL");
    const results = await Promise.all(calls);
    expect(results.map((r) => (r.value as unknown as Item).x)).toEqual([1, 2, 3, 4]);
    for (const r of results) {
      expect(r.info.attempts).toBe(2);
      expect(r.info.workerPid).not.toBe(started.pid);
    }
  });

  it("fails the non-idempotent calls of a batch whose worker is SIGKILLed with UNAVAILABLE", async () => {
    const pool = await batchPool(1);
    const { marker, started: batchStarted } = await batchMarker();
    const calls = [1, 2, 3, 4].map((x) => rejection(pool.execute("block_once", { x, marker }), PyfleetError));
    const started = await batchStarted();
    process.kill(started.pid, "SIGKILL");
    for (const error of await Promise.all(calls)) {
      expect(error.code).toBe("unavailable");
      expect(error.message).toContain("SIGKILL");
      expect(error.message).toContain("not idempotent");
    }
  });

  it("batches calls of different sessions on one worker, each with its own session state", async () => {
    const pool = await batchPool(1);
    const a = await pool.session();
    const b = await pool.session();
    const results = (await Promise.all([a, b, a, b].map((s, i) => pool.execute("whoami", { x: i }, { session: s })))) as unknown as { session: string; n: number }[];
    expect(results.map((r) => r.session)).toEqual([a.id, b.id, a.id, b.id]);
    expect([results[0]!.n, results[2]!.n].sort()).toEqual([1, 2]);
    expect([results[1]!.n, results[3]!.n].sort()).toEqual([1, 2]);
  });
});
