import { describe, expect, it, onTestFinished } from "vitest";
import { createClient as createWebClient, PyfleetError } from "../src/index.js";
import { createClient } from "../src/node.js";
import { startServer } from "../../server/test/helpers.js";

async function readyServer(config: Parameters<typeof startServer>[0] = {}) {
  const server = await startServer({ pools: [{ name: "default", size: 2 }], ...config });
  await server.ready();
  return server;
}

function nodeClient(url: string, protocol: "connect" | "grpc" | "grpc-web" = "connect", apiKey?: string) {
  const client = createClient({ baseUrl: url, protocol, ...(apiKey ? { apiKey } : {}) });
  onTestFinished(() => client.close());
  return client;
}

async function rejection(p: Promise<unknown>): Promise<PyfleetError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(PyfleetError);
  return e as PyfleetError;
}

describe.each(["connect", "grpc", "grpc-web"] as const)("the Node client over %s", (protocol) => {
  it("executes, streams, pipelines, and raises PyfleetError with the Python traceback", async () => {
    const server = await readyServer();
    const c = nodeClient(server.url, protocol);
    expect(await c.healthy()).toBe(true);
    expect(await c.pool.execute("add", { a: 1, b: 2 })).toBe(3);
    const r = await c.pool.call("pid");
    expect(r.value).toBe(r.info.workerPid);

    const chunks = [];
    const stream = c.pool.stream("count", { n: 4 });
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }]);

    const results = [];
    for await (const res of c.pool.executeMany([{ id: "a", tool: "add", args: { a: 1, b: 1 } }, { id: "b", tool: "fail", args: { message: "x" } }])) results.push(res);
    const byId = Object.fromEntries(results.map((res) => [res.id, res]));
    expect(byId.a).toMatchObject({ ok: true, value: 2 });
    expect(byId.b?.ok).toBe(false);
    expect(byId.b && !byId.b.ok && byId.b.error.toolError?.type).toBe("ValueError");

    const error = await rejection(c.pool.execute("fail", { message: "kaboom" }));
    expect(error.code).toBe("unknown");
    expect(error.toolError).toMatchObject({ type: "ValueError", message: "kaboom", tool: "fail" });
    expect(error.toolError?.traceback).toContain("Traceback");
    expect((await rejection(c.pool.execute("ech0"))).code).toBe("not_found");
    expect((await rejection(c.pool.execute("sleep", { seconds: 30 }, { timeoutMs: 200 }))).code).toBe("deadline_exceeded");
  });
});

describe("the Node client", () => {
  it("pipelines calls from an array and from an async source that waits on its own answers", async () => {
    const server = await readyServer();
    const c = nodeClient(server.url);
    const values: number[] = [];
    for await (const res of c.pool.executeMany(Array.from({ length: 700 }, (_, i) => ({ tool: "add", args: { a: i, b: 1 } })))) {
      if (res.ok) values.push(res.value as number);
    }
    expect(values.sort((a, b) => a - b)).toEqual(Array.from({ length: 700 }, (_, i) => i + 1));

    // A source that sends its next call only after the previous answer: the
    // client must send what it has at once, never wait to fill a batch.
    let answered: (() => void) | undefined;
    async function* feedback() {
      for (let i = 0; i < 20; i++) {
        yield { id: `f${i}`, tool: "add", args: { a: i, b: i } };
        await new Promise<void>((resolve) => (answered = resolve));
      }
    }
    const ids: string[] = [];
    for await (const res of c.pool.executeMany(feedback())) {
      expect(res).toMatchObject({ ok: true, value: 2 * Number(res.id.slice(1)) });
      ids.push(res.id);
      answered?.();
    }
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => `f${i}`));
  });

  it("keeps numbers' types: arguments reach Python and results come back as JSON text, exactly", async () => {
    const server = await readyServer();
    const c = nodeClient(server.url);
    expect(await c.pool.execute("echo", { i: 5, g: 2.5, nested: [1, 0.5] })).toEqual({ i: 5, g: 2.5, nested: [1, 0.5] });
    expect(await c.pool.execute("add", { a: 2, b: 3 })).toBe(5);
    // The form the SDK sends, on the raw client: 5 stays an int and 5.0 a float in Python, and back.
    const res = await c.rpc.pool.execute({ tool: "echo", argsJson: "{\"i\": 5, \"f\": 5.0}", resultAsJson: true });
    expect(res.resultJson).toBe("{\"i\":5,\"f\":5.0}");
    const messages = [];
    for await (const m of c.rpc.pool.executeStream({ tool: "count", argsJson: "{\"n\": 1}", resultAsJson: true })) messages.push(m.event);
    expect(messages.map((e) => e.case)).toEqual(["chunkBatch", "done"]);
    expect(messages[0]?.case === "chunkBatch" && messages[0].value.json).toEqual(["{\"i\":0}"]);
    expect(messages[1]?.case === "done" && [messages[1].value.resultJson, messages[1].value.result]).toEqual(["null", undefined]);
    // A client that sends a Struct still gets a Value.
    const old = await c.rpc.pool.execute({ tool: "add", args: { a: 2, b: 3 } });
    expect([old.resultJson, old.result?.kind]).toEqual(["", { case: "numberValue", value: 5 }]);
    expect((await rejection(c.rpc.pool.execute({ tool: "add", args: { a: 1 }, argsJson: "{\"b\": 2}" }))).message).toBe("set args or args_json, not both");
    expect((await rejection(c.rpc.pool.execute({ tool: "add", argsJson: "[1]" }))).code).toBe("invalid_argument");
  });

  it("leaving a stream cancels the Python generator", async () => {
    const server = await readyServer({ pools: [{ name: "default", size: 1, cancelGraceMs: 10_000 }] });
    const c = nodeClient(server.url);
    const before = await c.pool.execute("pid");
    let n = 0;
    for await (const _ of c.pool.stream("count", { n: 10_000_000 })) if (++n === 3) break;
    expect(await c.pool.execute("pid", {}, { timeoutMs: 5_000 })).toBe(before);
    expect((await c.pool.stats()).restarts).toBe(0);
  });

  it("closes a session with await using, and watches variables set from Python", async () => {
    const server = await readyServer();
    const c = nodeClient(server.url);
    let id = "";
    {
      await using session = await c.pool.session({ affinity: "strict_queue", ttlMs: 60_000 });
      id = session.id;
      expect(await session.execute("counter")).toBe(1);
      expect(await session.execute("counter")).toBe(2);
      // Counters are plain numbers in the friendly types.
      expect((await session.refresh()).calls).toBe(2);
      expect(session.info).toMatchObject({ id, affinity: "strict_queue", ttlMs: 60_000, calls: 2, repins: 0, stateLostAt: undefined });
      const v = await session.set("temperature", 0.5);
      expect(v).toMatchObject({ type: "float", version: 1 });
      expect(await session.execute("getvar", { name: "temperature" })).toBe(0.5);
      expect((await session.set("temperature", 0.6, { expectedVersion: 1 })).version).toBe(2);
      expect((await rejection(session.set("temperature", 0.7, { expectedVersion: 5 }))).code).toBe("aborted");

      const abort = new AbortController();
      const seen: unknown[] = [];
      let watchingNow!: () => void;
      const firstEvent = new Promise<void>((resolve) => (watchingNow = resolve));
      await session.set("n", 1);
      const watching = (async () => {
        // The watcher reports the current value first, then each change.
        for await (const e of session.watch({ names: ["n"], includeInitial: true, signal: abort.signal })) {
          seen.push(e.variable.value);
          watchingNow();
          if (e.variable.value === 42) abort.abort();
        }
      })();
      await firstEvent;
      await session.execute("setvar", { name: "n", value: 42 });
      await watching;
      expect(seen.at(-1)).toBe(42);
    }
    expect((await rejection(c.pool.openSession(id))).code).toBe("not_found");
  });

  it("spawns computes, waits until ready with status updates, watches them, and runs jobs", async () => {
    const server = await readyServer();
    const c = nodeClient(server.url);
    const abort = new AbortController();
    const watched: string[] = [];
    const watching = (async () => {
      for await (const e of c.compute.watch({ signal: abort.signal })) {
        watched.push(e.compute.status);
        if (e.compute.status === "terminated") abort.abort();
      }
    })();
    const handle = await c.compute.spawn({ gpu: "a4000", idleTtlMs: 600_000 });
    const statuses: string[] = [];
    const ready = await handle.waitUntilReady({ onStatus: (s) => statuses.push(s.status) });
    expect(ready.status).toBe("ready");
    expect(statuses.at(-1)).toBe("ready");
    expect((await c.compute.list()).map((x) => x.id)).toContain(handle.id);
    await handle.terminate();
    await watching;
    expect(watched).toContain("terminated");

    const job = await c.compute.jobs.run("ep", { x: 1 });
    expect((await c.compute.jobs.get(job.id))).toMatchObject({ status: "completed", output: { x: 1 } });
    const local = await c.compute.jobs.run("default/add", { a: 2, b: 2 }, { provider: "local" });
    const stream = c.compute.jobs.stream(local.id);
    let final;
    for (;;) {
      const next = await stream.next();
      if (next.done) {
        final = next.value;
        break;
      }
    }
    expect(final).toMatchObject({ status: "completed", output: 4 });
    expect((await rejection(c.compute.spawn({ gpu: "h1000" }))).code).toBe("invalid_argument");
  });

  it("returns plain data, not protobuf messages, from pools and computes", async () => {
    const server = await readyServer();
    const c = nodeClient(server.url);
    await c.pool.execute("add", { a: 1, b: 2 });
    await rejection(c.pool.execute("fail", { message: "x" }));
    const plain = (x: object) => expect(JSON.stringify(x, (k, v: unknown) => (k === "$typeName" || typeof v === "bigint" ? "PROTO" : v))).not.toContain("PROTO");

    const add = (await c.pool.tools()).find((t) => t.name === "add");
    expect(add).toEqual({
      name: "add", description: "Adds two numbers.", streaming: false, idempotent: true, acceptsExtraArgs: false, returns: "float", batchSize: 0, batchWaitMs: 0,
      parameters: [
        { name: "a", type: "number", annotation: "float", required: true, default: undefined, choices: [] },
        { name: "b", type: "number", annotation: "float", required: true, default: undefined, choices: [] },
      ],
    });
    const stats = await c.pool.stats();
    expect([stats.pool, stats.callsTotal, stats.errorsByCode, stats.restarts]).toEqual(["default", 2, { unknown: 1 }, 0]);
    expect(await c.pool.list()).toEqual([{ name: "default", adapter: "pyfleet_bridge.samples:SampleAdapter", size: 2, minSize: 2, maxSize: 2, concurrency: 1, startMode: expect.stringMatching(/^(auto: )?(fork|spawn)$/), ready: true, workers: 2, isDefault: true }]);
    const providers = await c.compute.providers();
    expect(providers.find((p) => p.name === "mock")).toMatchObject({ kind: "mock", capabilities: { stopStart: true, jobs: true } });
    const gpus = await c.compute.gpuTypes();
    expect(gpus.length).toBeGreaterThan(0);
    expect(typeof gpus[0]!.stock).toBe("string");
    for (const x of [add!, stats, ...(await c.pool.list()), ...providers, ...gpus]) plain(x);
  });

  it("sends the API key", async () => {
    const server = await readyServer({ auth: { apiKeys: [{ name: "alice", key: "alice-key-0123456789ab" }], workerTokens: [] } });
    expect((await rejection(nodeClient(server.url).pool.execute("echo"))).code).toBe("unauthenticated");
    expect(await nodeClient(server.url, "grpc", "alice-key-0123456789ab").pool.execute("echo", { ok: true })).toEqual({ ok: true });
  });
});

describe("the browser client (fetch transports) from Node", () => {
  it.each(["connect", "grpc-web"] as const)("works over %s", async (protocol) => {
    const server = await readyServer();
    const c = createWebClient({ baseUrl: server.url, protocol });
    expect(await c.pool.execute("echo", { hello: "browser" })).toEqual({ hello: "browser" });
    const chunks = [];
    for await (const chunk of c.pool.stream("count", { n: 2 })) chunks.push(chunk);
    expect(chunks).toEqual([{ i: 0 }, { i: 1 }]);
    const session = await c.pool.session();
    expect(await session.execute("counter")).toBe(1);
    await session.close();
    await expect(async () => {
      for await (const _ of c.pool.executeMany([{ tool: "echo" }])) { /* needs bidi */ }
    }).rejects.toThrow(/node/);
    expect(() => createWebClient({ baseUrl: server.url, protocol: "grpc" })).toThrow(/HTTP\/2 trailers/);
  });
});
