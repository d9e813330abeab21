import { Writable } from "node:stream";
import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { Health } from "@pyfleet/sdk/gen/grpc/health/v1/health_pb";
import { PoolEventKind, PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { createServer, type ServerConfigInput } from "../../src/index.js";
import { clientFor } from "../clients.js";
import { startServer } from "../helpers.js";
import { until } from "../procs.js";

async function connectError(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

const ALICE = "alice-key-0123456789abcdef";
const BOB = "bob-key-0123456789abcdef01";

describe("auth and tenants", () => {
  it("requires a key, isolates tenants, leaves health open, and never logs a key", async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const server = await createServer({
      port: 0,
      logLevel: "debug",
      pools: [{ name: "default", size: 1 }],
      auth: { apiKeys: [{ name: "alice", key: ALICE }, { name: "bob", key: BOB }] },
    }, { logDestination: sink });
    onTestFinished(() => server.close());
    await server.ready();

    const anonymous = clientFor(PoolService, server.url);
    expect((await connectError(anonymous.listPools({}))).code).toBe(Code.Unauthenticated);
    const wrong = clientFor(PoolService, server.url, "connect", "not-a-real-key-at-all");
    expect((await connectError(wrong.listPools({}))).code).toBe(Code.Unauthenticated);
    expect((await clientFor(Health, server.url).check({})).status).toBe(1);

    const alice = clientFor(PoolService, server.url, "grpc", ALICE);
    const bob = clientFor(PoolService, server.url, "grpc", BOB);
    const { session } = await alice.createSession({});
    expect(session?.owner).toBe("alice");
    expect((await connectError(bob.getSession({ sessionId: session!.id }))).code).toBe(Code.NotFound);
    expect((await connectError(bob.execute({ tool: "echo", sessionId: session!.id }))).code).toBe(Code.NotFound);
    expect((await connectError(bob.deleteSession({ sessionId: session!.id }))).code).toBe(Code.NotFound);
    expect((await bob.listSessions({})).sessions).toEqual([]);
    expect((await alice.listSessions({})).sessions.map((s) => s.id)).toEqual([session!.id]);

    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    await server.close();
    const log = lines.join("");
    expect(log).toContain("alice");
    expect(log).not.toContain(ALICE);
    expect(log).not.toContain(BOB);
  });

  it("binds only to loopback when no keys are configured", async () => {
    const server = await startServer({ host: "0.0.0.0", pools: [] });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });
});

describe("validation and limits", () => {
  it("names the missing field of every request that needs one", async () => {
    const server = await startServer({ pools: [{ name: "default", size: 1 }] });
    const pool = clientFor(PoolService, server.url);
    const cases: [string, () => Promise<unknown>, string][] = [
      ["Execute", () => pool.execute({}), "tool"],
      ["ExecuteStream", async () => { for await (const _ of pool.executeStream({})) { /* drain */ } }, "tool"],
      ["GetSession", () => pool.getSession({}), "session_id"],
      ["DeleteSession", () => pool.deleteSession({}), "session_id"],
      ["SetVariable", () => pool.setVariable({}), "session_id"],
      ["GetVariable", () => pool.getVariable({}), "session_id"],
      ["ListVariables", () => pool.listVariables({}), "session_id"],
      ["DeleteVariable", () => pool.deleteVariable({}), "session_id"],
      ["WatchVariables", async () => { for await (const _ of pool.watchVariables({})) { /* drain */ } }, "session_id"],
      ["ListSessions", () => pool.listSessions({ pageSize: 5000 }), "page_size"],
      ["CreateSession", () => pool.createSession({ ttl: { seconds: 0n, nanos: 5 } }), "ttl"],
    ];
    for (const [rpc, call, field] of cases) {
      const error = await connectError(call());
      expect(error.code, rpc).toBe(Code.InvalidArgument);
      expect(error.rawMessage, rpc).toContain(field);
    }
    const { session } = await pool.createSession({});
    const error = await connectError(pool.setVariable({ sessionId: session!.id }));
    expect(error.rawMessage).toContain("name");
    expect((await connectError(pool.execute({ pool: "nope", tool: "echo" }))).code).toBe(Code.NotFound);
  });

  it("rejects a message over the size limit with RESOURCE_EXHAUSTED and keeps serving", async () => {
    const server = await startServer({ maxMessageBytes: 64 * 1024, pools: [{ name: "default", size: 1 }] });
    await server.ready();
    const pool = clientFor(PoolService, server.url, "grpc");
    const error = await connectError(pool.execute({ tool: "echo", args: { blob: "x".repeat(200 * 1024) } }));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(toJson(ValueSchema, (await pool.execute({ tool: "echo", args: { ok: true } })).result!)).toEqual({ ok: true });
  });

  it("rejects unknown JSON fields by name", async () => {
    const server = await startServer({ pools: [] });
    const res = await fetch(`${server.url}/pyfleet.pool.v1.PoolService/Execute`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tool: "echo", tooll: "typo" }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("tooll");
  });
});

describe("deadlines and cancellation reach Python", () => {
  /** A server with one worker, a client of it, and the worker's pid. */
  async function oneWorker(protocol: "grpc" | "connect") {
    const server = await startServer({ pools: [{ name: "default", size: 1, cancelGraceMs: 10_000 }] });
    await server.ready();
    const pool = clientFor(PoolService, server.url, protocol);
    const pid = (await pool.execute({ tool: "pid" })).result?.kind.value;
    expect(pid).toEqual(expect.any(Number));
    /** With one worker, a call only runs once Python has stopped the one before; the same worker answers it. */
    const expectWorkerFree = async () => {
      expect((await pool.execute({ tool: "pid" }, { timeoutMs: 5_000 })).result?.kind.value).toBe(pid);
      expect((await pool.getPoolStats({})).stats?.restarts).toBe(0n);
    };
    return { server, pool, expectWorkerFree };
  }

  it("a gRPC deadline cancels the running sleep in Python", async () => {
    const { pool, expectWorkerFree } = await oneWorker("grpc");
    const error = await connectError(pool.execute({ tool: "sleep", args: { seconds: 60 } }, { timeoutMs: 300 }));
    expect(error.code).toBe(Code.DeadlineExceeded);
    await expectWorkerFree();
  });

  it("an HTTP/2 client that resets an Execute mid-call cancels the running sleep in Python", async () => {
    const { server, pool, expectWorkerFree } = await oneWorker("connect");
    const abort = new AbortController();
    const call = connectError(pool.execute({ tool: "sleep", args: { seconds: 60 } }, { signal: abort.signal }));
    // Once Python is running it, the client resets the stream (RST_STREAM CANCEL).
    await expect.poll(() => server.pools.get("default").stats().workersBusy, { timeout: 10_000 }).toBe(1);
    abort.abort();
    expect((await call).code).toBe(Code.Canceled);
    await expectWorkerFree();
  });

  it("leaving a stream cancels the generator in Python", async () => {
    const { pool, expectWorkerFree } = await oneWorker("connect");
    const abort = new AbortController();
    let read = 0;
    const error = await (async () => {
      for await (const _ of pool.executeStream({ tool: "count", args: { n: 10_000_000 } }, { signal: abort.signal })) {
        if (++read === 2) abort.abort();
      }
    })().catch((e: unknown) => e);
    expect(ConnectError.from(error).code).toBe(Code.Canceled);
    await expectWorkerFree();
  });
});

describe("operability", () => {
  it("lists and calls services by reflection with buf curl", async () => {
    const server = await startServer({ pools: [{ name: "default", size: 1 }] });
    await server.ready();
    const list = await execa("npx", ["--no-install", "buf", "curl", "--list-services", server.url]);
    expect(list.stdout.split("\n")).toEqual(expect.arrayContaining(["pyfleet.pool.v1.PoolService", "pyfleet.compute.v1.ComputeService", "grpc.health.v1.Health"]));
    const call = await execa("npx", ["--no-install", "buf", "curl", "--data", '{"tool":"add","args":{"a":2,"b":3}}', `${server.url}/pyfleet.pool.v1.PoolService/Execute`]);
    expect(JSON.parse(call.stdout).result).toBe(5);
  });

  it("moves /metrics after calls", async () => {
    const server = await startServer({ pools: [{ name: "default", size: 1 }] });
    await server.ready();
    const pool = clientFor(PoolService, server.url);
    const count = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith('pyfleet_rpc_requests_total{method="pyfleet.pool.v1.PoolService/Execute",code="ok"}'));
      return line ? Number(line.split(" ").at(-1)) : 0;
    };
    const before = await count();
    await pool.execute({ tool: "echo" });
    await pool.execute({ tool: "echo" });
    expect(await count()).toBe(before + 2);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/pyfleet_pool_workers\{pool="default",state="ready"\} 1/);
    expect(text).toContain("pyfleet_rpc_duration_seconds_bucket");
  });

  it("health reports a pool that cannot start as NOT_SERVING", async () => {
    const server = await startServer({ pools: [{ name: "default", size: 1, adapter: "pyfleet_bridge.testing.broken_import:Adapter", circuitThreshold: 1 }] });
    await expect(server.ready()).rejects.toThrow(/boom at import/);
    const health = clientFor(Health, server.url);
    expect((await health.check({ service: "pyfleet.pool.v1.PoolService" })).status).toBe(2);
    expect((await health.check({ service: "pool:default" })).status).toBe(2);
    expect((await health.check({})).status).toBe(1);
  });

  it("health reports a pool scaled to zero as SERVING (it starts a worker when a call comes), and ListPools its bounds", async () => {
    const server = await startServer({ pools: [{ name: "default", minSize: 0, maxSize: 3 }] });
    await server.ready();
    const health = clientFor(Health, server.url);
    expect(server.pools.get("default").stats().workersReady).toBe(0);
    expect((await health.check({ service: "pool:default" })).status).toBe(1);
    expect((await health.check({ service: "pyfleet.pool.v1.PoolService" })).status).toBe(1);
    const pool = clientFor(PoolService, server.url);
    expect((await pool.listPools({})).pools.map((p) => [p.name, p.minSize, p.maxSize, p.size, p.ready])).toEqual([["default", 0, 3, 3, false]]);
    expect((await pool.getPoolStats({})).stats?.workersDesired).toBe(0);

    // The first call starts a worker; WatchPool tells why.
    const events = server.pools.get("default").events;
    const listeners = events.listenerCount("event");
    const abort = new AbortController();
    onTestFinished(() => abort.abort());
    const scaleUp = (async () => {
      for await (const e of pool.watchPool({ pool: "default" }, { signal: abort.signal })) {
        if (e.kind === PoolEventKind.SCALE_UP) return e;
      }
      return undefined;
    })();
    await until(() => events.listenerCount("event") > listeners, 5_000, "WatchPool to subscribe");
    expect((await pool.execute({ tool: "add", argsJson: '{"a":2,"b":2}', resultAsJson: true })).resultJson).toBe("4.0");
    const event = await scaleUp;
    expect(event?.scale).toMatchObject({ reason: "cold_start", fromWorkers: 0, toWorkers: 1, queueDepth: 1, inFlight: 0 });
    expect(event?.message).toContain("no worker");
    expect((await health.check({ service: "pool:default" })).status).toBe(1);
  });
});

describe("remote workers over Attach", () => {
  it("a dialed-in worker serves calls, and its calls fail over when it is killed", async () => {
    const token = "worker-token-0123456789";
    const server = await startServer({ pools: [{ name: "gpu", size: 0 }], auth: { apiKeys: [], workerTokens: [token] } } as ServerConfigInput);
    const pool = server.pools.get("gpu");
    const dial = () => execa(pool.config.python, ["-m", "pyfleet_bridge.worker", "--adapter", "pyfleet_bridge.samples:SampleAdapter",
      "--connect", server.url, "--token", token, "--pool", "gpu"], { reject: false });
    const twoReady = new Promise<void>((resolve) => {
      let n = 0;
      pool.events.on("worker.ready", () => ++n === 2 && resolve());
    });
    const workers = [dial(), dial()];
    onTestFinished(() => { for (const w of workers) w.kill("SIGKILL"); });
    await twoReady;

    const client = clientFor(PoolService, server.url, "grpc");
    const pids = new Set<number>();
    const results = await Promise.all([1, 2].map(() => client.execute({ tool: "pid" })));
    for (const r of results) pids.add(r.result?.kind.value as number);
    expect(pids).toEqual(new Set(workers.map((w) => w.pid)));

    const call = client.execute({ tool: "sleep", args: { seconds: 0.5 }, idempotent: true });
    await until(() => pool.workerSummaries().some((w) => w.inFlight === 1), 5_000, "the call to reach a worker");
    const victim = pool.workerSummaries().find((w) => w.inFlight === 1)!;
    process.kill(victim.pid, "SIGKILL");
    const result = await call;
    expect(result.info?.attempts).toBe(2);
    expect(result.info?.workerId).not.toBe(victim.id);
  });
});
