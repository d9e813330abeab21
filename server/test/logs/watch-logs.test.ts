import { type LogRecord, PyfleetError } from "@pyfleet/sdk";
import { createClient } from "@pyfleet/sdk/node";
import { execa } from "execa";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import type { PyfleetServer } from "../../src/index.js";
import { startServer } from "../helpers.js";

const CHATTY = "pyfleet_bridge.testing.chatty:ChattyAdapter";
const KEYS = { alice: "alice-key-0123456789", bob: "bob-key-0123456789ab", ops: "ops-key-0123456789ab" };

async function chattyServer(extra: Parameters<typeof startServer>[0] = {}): Promise<PyfleetServer> {
  const server = await startServer({ pools: [{ name: "chat", adapter: CHATTY, size: 1, startMode: "spawn" }], ...extra });
  await server.ready();
  return server;
}

function clientOf(server: PyfleetServer, apiKey?: string) {
  const client = createClient({ baseUrl: server.url, ...(apiKey ? { apiKey } : {}) });
  onTestFinished(() => client.close());
  return client;
}

async function all(records: AsyncIterable<LogRecord>): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const r of records) out.push(r);
  return out;
}

/** What a record says, without its time and position. */
const shape = ({ time: _t, seq: _s, droppedBefore: _d, ...rest }: LogRecord) => rest;

describe("WatchLogs", () => {
  it("turns what a tool prints and logs into records naming its pool, worker, session, call and tool", async () => {
    const server = await chattyServer();
    const client = clientOf(server);
    await client.poolNamed("chat").session({ id: "s1" });
    const res = await client.rpc.pool.execute({ pool: "chat", tool: "say", argsJson: '{"text": "hi"}', sessionId: "s1", resultAsJson: true },
      { headers: { "x-request-id": "req-say-1" } });
    expect(res.resultJson).toBe('"hi"');
    const { workerId, workerPid } = res.info!;
    // Log frames travel before the result on the link: once the call returned, its records are in.
    const records = await all(client.logs({ requestId: "req-say-1" }));
    const call = { pool: "chat", workerId, workerPid, sessionId: "s1", requestId: "req-say-1", tool: "say" };
    expect(records.map(shape)).toEqual([
      { ...call, level: "info", source: "stdout", logger: "stdout", message: "out: hi" },
      { ...call, level: "warning", source: "stderr", logger: "stderr", message: "err: hi" },
      { ...call, level: "info", source: "logging", logger: "chatty", message: "info: hi" },
      { ...call, level: "warning", source: "logging", logger: "chatty", message: "warn: hi" },
      { ...call, level: "error", source: "logging", logger: "pyfleet.tool.say", message: "ctx: hi" },
      { ...call, level: "info", source: "stdout", logger: "stdout", message: "partial: hi" },
    ]);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => records[0]!.seq + i));
    expect(records.every((r) => r.droppedBefore === 0 && Math.abs(r.time.getTime() - Date.now()) < 60_000)).toBe(true);

    // Async tools and generators (sync and async) are tagged too.
    for (const [tool, args] of [["say_async", { text: "a" }], ["say_each", { text: "g", n: 2 }], ["say_each_async", { text: "h", n: 2 }]] as const) {
      if (tool.startsWith("say_each")) for await (const _ of client.poolNamed("chat").stream(tool, args)) { /* drain */ }
      else await client.poolNamed("chat").execute(tool, args);
    }
    const tagged = (await all(client.logs({ pool: "chat" }))).filter((r) => r.tool.startsWith("say_") && r.requestId !== "");
    expect(tagged.map((r) => [r.tool, r.message])).toEqual([
      ["say_async", "async: a"], ["say_async", "async warn: a"],
      ["say_each", "chunk 0: g"], ["say_each", "chunk 1: g"],
      ["say_each_async", "achunk 0: h"], ["say_each_async", "achunk 1: h"],
    ]);

    // The adapter's import printed outside any call: a worker-level record.
    const imported = (await all(client.logs({ pool: "chat" }))).filter((r) => r.message === "chatty: imported");
    expect(imported.map(shape)).toEqual([{ pool: "chat", workerId, workerPid, sessionId: "", requestId: "", tool: "", level: "info", source: "stdout", logger: "stdout", message: "chatty: imported" }]);
  });

  it("filters by worker, session and level, sends the newest `tail`, and follows new records", async () => {
    const server = await chattyServer();
    const client = clientOf(server);
    const chat = client.poolNamed("chat");
    await chat.session({ id: "s1" });
    await chat.session({ id: "s2" });
    await chat.execute("say", { text: "one" }, { session: "s1" });
    await chat.execute("say", { text: "two" }, { session: "s2" });
    const worker = (await chat.call("say_async", { text: "x" })).info.workerId;

    const messages = async (options: Parameters<typeof client.logs>[0]) => (await all(client.logs(options))).map((r) => r.message);
    expect(await messages({ session: "s2" })).toEqual(["out: two", "err: two", "info: two", "warn: two", "ctx: two", "partial: two"]);
    expect(await messages({ session: "s1", level: "warning" })).toEqual(["err: one", "warn: one", "ctx: one"]);
    expect(await messages({ session: "s1", level: "error" })).toEqual(["ctx: one"]);
    expect(await messages({ pool: "chat", tail: 2 })).toEqual(["async: x", "async warn: x"]);
    expect(await messages({ worker, tail: 1 })).toEqual(["async warn: x"]);
    expect(await messages({ worker: "no-such-worker" })).toEqual([]);
    await expect(messages({ pool: "nope" })).rejects.toMatchObject({ code: "not_found" });
    await expect(messages({ level: "loud" as never })).rejects.toBeInstanceOf(PyfleetError);

    // follow: the held tail, then new records as calls make them, until the signal aborts.
    const abort = new AbortController();
    const followed = client.logs({ session: "s1", follow: true, tail: 1, signal: abort.signal })[Symbol.asyncIterator]();
    expect((await followed.next()).value?.message).toBe("partial: one");
    await vi.waitFor(() => expect(server.logs.readerCount).toBe(1));
    await chat.execute("say", { text: "three" }, { session: "s1" });
    const live: string[] = [];
    while (live.length < 6) live.push((await followed.next()).value!.message);
    expect(live).toEqual(["out: three", "err: three", "info: three", "warn: three", "ctx: three", "partial: three"]);
    abort.abort();
    expect((await followed.next()).done).toBe(true);
    await vi.waitFor(() => expect(server.logs.readerCount).toBe(0));
  });

  it("a reader that does not read loses records with a count, while calls keep completing", async () => {
    const server = await chattyServer({ logs: { readerQueue: 16 } });
    const client = clientOf(server);
    const abort = new AbortController();
    onTestFinished(() => abort.abort());
    // Only this session's records: a worker's own output (a replacement's import, under load) is not what is counted here.
    await client.poolNamed("chat").session({ id: "slow" });
    const stalled = client.logs({ session: "slow", follow: true, tail: 0, signal: abort.signal })[Symbol.asyncIterator]();
    const first = stalled.next();
    await vi.waitFor(() => expect(server.logs.readerCount).toBe(1));
    // 4000 lines of 500 bytes (2 MB) while the reader reads nothing: more than HTTP/2 and socket buffers hold.
    const n = 4000;
    expect(await client.poolNamed("chat").execute("flood", { n, width: 500 }, { session: "slow" })).toBe(n);
    expect(await client.poolNamed("chat").execute("say_async", { text: "still fast" }, { session: "slow" })).toBe("still fast");
    let received = 0;
    let dropped = 0;
    const others: string[] = [];
    for (let r = (await first).value!; ; r = (await stalled.next()).value!) {
      received++;
      dropped += r.droppedBefore;
      if (!r.message.startsWith("flood ") && !r.message.startsWith("async")) others.push(`${r.source} ${r.workerId} ${r.tool}: ${r.message}`);
      if (r.message === "async warn: still fast") break;
    }
    expect(others).toEqual([]);
    expect(dropped).toBeGreaterThan(0);
    expect(server.logs.dropped).toBe(dropped);
    // Every record is either delivered or counted as dropped: the flood's, and say_async's two.
    expect(received + dropped).toBe(n + 2);
  });

  it("shows each tenant its own calls' records only; operators see every record", async () => {
    const server = await chattyServer({
      auth: { apiKeys: Object.entries(KEYS).map(([name, key]) => ({ name, key })) },
      logs: { operators: ["ops"] },
    });
    const alice = clientOf(server, KEYS.alice);
    const bob = clientOf(server, KEYS.bob);
    const ops = clientOf(server, KEYS.ops);
    // Both tenants name their session "same": ids are per tenant.
    await alice.poolNamed("chat").session({ id: "same" });
    await bob.poolNamed("chat").session({ id: "same" });
    await alice.poolNamed("chat").execute("say_async", { text: "alice secret" }, { session: "same" });
    await bob.poolNamed("chat").execute("say_async", { text: "bob secret" }, { session: "same" });

    const seen = async (client: typeof alice, options: Parameters<typeof alice.logs>[0] = {}) => (await all(client.logs(options))).map((r) => r.message);
    expect(await seen(alice)).toEqual(["async: alice secret", "async warn: alice secret"]);
    expect(await seen(bob, { session: "same" })).toEqual(["async: bob secret", "async warn: bob secret"]);
    const everything = await seen(ops);
    expect(everything).toEqual(expect.arrayContaining(["chatty: imported", "async: alice secret", "async: bob secret"]));
    // Following: bob's live stream carries none of alice's.
    const abort = new AbortController();
    const live = bob.logs({ follow: true, tail: 0, signal: abort.signal })[Symbol.asyncIterator]();
    const next = live.next();
    await vi.waitFor(() => expect(server.logs.readerCount).toBe(1));
    await alice.poolNamed("chat").execute("say_async", { text: "alice again" });
    await bob.poolNamed("chat").execute("say_async", { text: "bob again" });
    expect((await next).value?.message).toBe("async: bob again");
    abort.abort();
    const anonymous = createClient({ baseUrl: server.url });
    onTestFinished(() => anonymous.close());
    await expect(all(anonymous.logs())).rejects.toMatchObject({ code: "unauthenticated" });
  });
});

describe("pyfleet logs", { timeout: 240_000 }, () => {
  it("prints one line per record, --json records, and filters", async () => {
    const server = await chattyServer();
    const client = clientOf(server);
    await client.poolNamed("chat").session({ id: "cli" });
    const { workerId } = (await client.poolNamed("chat").call("say", { text: "from cli" }, { session: "cli" })).info;
    const cli = (args: string[]) => execa("node", ["--conditions=pyfleet-source", "--import", "tsx", "server/src/cli/main.ts", ...args],
      { env: { PYFLEET_URL: server.url }, reject: false, timeout: 120_000 });
    const [text, json, bad] = await Promise.all([
      cli(["logs", "--session", "cli", "--level", "warning"]),
      cli(["--json", "logs", "--pool", "chat", "--session", "cli", "--tail", "1"]),
      cli(["logs", "--level", "loud"]),
    ]);
    expect(text.exitCode, text.stderr).toBe(0);
    const lines = text.stdout.split("\n");
    expect(lines.map((l) => l.replace(/^\S+ /, ""))).toEqual([
      `WARNING chat/${workerId} session=cli tool=say request=${lines[0]!.match(/request=(\S+)/)![1]} err: from cli`,
      `WARNING chat/${workerId} session=cli tool=say request=${lines[0]!.match(/request=(\S+)/)![1]} warn: from cli`,
      `ERROR   chat/${workerId} session=cli tool=say request=${lines[0]!.match(/request=(\S+)/)![1]} ctx: from cli`,
    ]);
    expect(lines.every((l) => !Number.isNaN(Date.parse(l.split(" ")[0]!)))).toBe(true);
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ pool: "chat", workerId, sessionId: "cli", tool: "say", level: "info", source: "stdout", message: "partial: from cli", droppedBefore: 0 });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--level must be one of debug, info, warning, error");
  });
});
