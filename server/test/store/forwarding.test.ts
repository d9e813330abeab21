// Sessions across replicas: three servers on one Postgres, each with its own
// worker. A session lives on the replica that created it; its calls reaching
// any other replica take one hop there, with the caller's deadline,
// cancellation and credentials. When the owner is gone, NOT_FOUND says so.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { PoolService, VariableChange } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import type { PyfleetServer } from "../../src/index.js";
import { clientFor } from "../clients.js";
import { rejection, startServer } from "../helpers.js";
import { until } from "../procs.js";
import { startServe } from "../serve-process.js";
import { type PostgresServer, startPostgres } from "./postgres.js";

const ALICE = "alice-key-0123456789abcdef";
const BOB = "bob-key-0123456789abcdef00";
const ADAPTER = "pyfleet_bridge.testing.forwarding:ForwardingAdapter";
let postgres: PostgresServer;
beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);
afterAll(() => postgres?.stop());

const keys = [{ name: "alice", key: ALICE }, { name: "bob", key: BOB }];
const pools = [{ name: "default", size: 1, adapter: ADAPTER }];

/** Three replicas on a fresh database, one worker each, every pool ready. */
async function replicas(store?: string): Promise<PyfleetServer[]> {
  const config = { store: store ?? (await postgres.database()), auth: { apiKeys: keys }, pools };
  const servers = [await startServer(config), await startServer(config), await startServer(config)];
  await Promise.all(servers.map((s) => s.ready()));
  return servers;
}

const json = (text: string) => JSON.parse(text) as unknown;

describe("sessions across replicas", () => {
  it("a session created on A is used through B and C: calls, worker state, streams, variables, watches", async () => {
    const [a, b, c] = await replicas();
    const onA = clientFor(PoolService, a!.url, "connect", ALICE);
    const onB = clientFor(PoolService, b!.url, "grpc", ALICE);
    const onC = clientFor(PoolService, c!.url, "connect-json", ALICE);
    const { session } = await onA.createSession({ labels: { via: "a" } });
    expect(session!.id).toMatch(new RegExp(`^ses_[0-9a-z]{26}\\.${a!.fleet.id}$`));
    const sessionId = session!.id;
    // Listed wherever the tenant asks, beside sessions of the replica asked.
    const onC2 = (await onC.createSession({ sessionId: "on-c" })).session!.id;
    expect((await onB.listSessions({})).sessions.map((s) => s.id).sort()).toEqual([onC2, sessionId].sort());
    expect((await clientFor(PoolService, b!.url, "connect", BOB).listSessions({})).sessions).toEqual([]);
    await onC.deleteSession({ sessionId: onC2 });

    // Worker state lives on A's worker: the counter goes on whichever replica the call reaches.
    const counter = async (client: typeof onA) => json((await client.execute({ tool: "counter", sessionId, resultAsJson: true })).resultJson);
    expect([await counter(onB), await counter(onC), await counter(onA), await counter(onB)]).toEqual([1, 2, 3, 4]);
    const pidOnA = json((await onA.execute({ tool: "pid", resultAsJson: true })).resultJson);
    expect(json((await onC.execute({ tool: "pid", sessionId, resultAsJson: true })).resultJson)).toBe(pidOnA);
    expect((await onB.getSession({ sessionId })).session).toMatchObject({ id: sessionId, labels: { via: "a" }, stats: { calls: 5n } });

    // A watch through C (subscribed once it shows the variable set through B) sees a tool set one on A, and a delete through A.
    await onB.setVariable({ sessionId, name: "first", value: { kind: { case: "intValue", value: 1n } } });
    const abort = new AbortController();
    const watch = onC.watchVariables({ sessionId, includeInitial: true }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await watch.next()).value?.variable?.name).toBe("first");
    const seen: string[] = [];
    const watching = (async () => {
      while (seen.length < 2) {
        const { value, done } = await watch.next();
        if (done) return;
        seen.push(`${value.change === VariableChange.SET ? "set" : "deleted"} ${value.variable!.name}`);
      }
    })();
    expect(json((await onC.execute({ tool: "setvar", sessionId, args: { name: "second", value: 2 }, resultAsJson: true })).resultJson)).toBe(1);
    await onA.deleteVariable({ sessionId, name: "first" });
    await watching;
    abort.abort();
    expect(seen).toEqual(["set second", "deleted first"]);
    expect(json((await onB.execute({ tool: "getvar", sessionId, args: { name: "second" }, resultAsJson: true })).resultJson)).toBe(2);
    expect((await onC.listVariables({ sessionId })).variables.map((v) => v.name)).toEqual(["second"]);
    expect((await onB.getVariable({ sessionId, name: "second" })).variable).toMatchObject({ name: "second", version: 1n });

    // A stream in the session through B.
    const chunks: string[] = [];
    for await (const m of onB.executeStream({ tool: "count", args: { n: 3 }, sessionId, maxChunksPerMessage: 16 })) {
      if (m.event.case === "chunkBatch") chunks.push(...m.event.value.json);
    }
    expect(chunks.map(json)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);

    // ExecuteMany through C: its calls in the session run on A, beside calls without one.
    const answers: Record<string, unknown> = {};
    const calls = (async function* () {
      yield { id: "s", tool: "counter", sessionId, resultAsJson: true };
      yield { id: "plain", tool: "add", argsJson: '{"a": 1, "b": 2}', resultAsJson: true };
      yield { id: "bad", tool: "nope", sessionId };
    })();
    for await (const m of onC.executeMany(calls)) {
      answers[m.id] = m.outcome.case === "result" ? json(m.outcome.value.resultJson) : m.outcome.case === "error" ? m.outcome.value.code : m.outcome.case;
    }
    expect(answers).toEqual({ s: 5, plain: 3, bad: Code.NotFound });

    // The hop carries the caller's identity: another tenant finds nothing, wherever it asks.
    const bobOnC = clientFor(PoolService, c!.url, "connect", BOB);
    expect((await rejection(bobOnC.getSession({ sessionId }), ConnectError)).code).toBe(Code.NotFound);
    expect((await rejection(clientFor(PoolService, b!.url, "connect").getSession({ sessionId }), ConnectError)).code).toBe(Code.Unauthenticated);

    await onC.deleteSession({ sessionId });
    expect(a!.pools.get("default").stats().sessions).toBe(0);
    expect((await rejection(onB.getSession({ sessionId }), ConnectError)).code).toBe(Code.NotFound);
  }, 60_000);

  it("claims client-chosen ids fleet-wide, per tenant", async () => {
    const [a, b, c] = await replicas();
    const [onA, onB, onC] = [a!, b!, c!].map((s) => clientFor(PoolService, s.url, "connect", ALICE));
    const made = await onA!.createSession({ sessionId: "mine" });
    expect(made.session?.id).toBe("mine");
    expect((await rejection(onB!.createSession({ sessionId: "mine" }), ConnectError)).code).toBe(Code.AlreadyExists);
    expect(json((await onC!.execute({ tool: "counter", sessionId: "mine", resultAsJson: true })).resultJson)).toBe(1);
    expect(json((await onB!.execute({ tool: "counter", sessionId: "mine", resultAsJson: true })).resultJson)).toBe(2);
    // Bob's "mine" is his own, made where he asked.
    await clientFor(PoolService, b!.url, "connect", BOB).createSession({ sessionId: "mine" });
    expect(b!.pools.get("default").stats().sessions).toBe(1);
    expect(a!.pools.get("default").stats().sessions).toBe(1);
    // Deleted through C, the id is free again: B now makes it.
    await onC!.deleteSession({ sessionId: "mine" });
    expect(a!.pools.get("default").stats().sessions).toBe(0);
    await onB!.createSession({ sessionId: "mine" });
    expect(b!.pools.get("default").stats().sessions).toBe(2);
    expect(json((await onA!.execute({ tool: "counter", sessionId: "mine", resultAsJson: true })).resultJson)).toBe(1);
  }, 60_000);

  it("carries the caller's deadline and cancellation through the hop", async () => {
    const [a, b] = await replicas();
    const onA = clientFor(PoolService, a!.url, "connect", ALICE);
    const onB = clientFor(PoolService, b!.url, "grpc", ALICE);
    const sessionId = (await onA.createSession({})).session!.id;

    const { remaining } = json((await onB.execute({ tool: "deadline", sessionId, resultAsJson: true }, { timeoutMs: 5_000 })).resultJson) as { remaining: number };
    expect(remaining).toBeGreaterThan(2);
    expect(remaining).toBeLessThanOrEqual(5);
    expect(json((await onB.execute({ tool: "deadline", sessionId, resultAsJson: true })).resultJson)).toMatchObject({ remaining: null });

    // Cancelled through B while it runs on A: A's worker stops it (its one worker is free again at once).
    const owner = a!.pools.get("default");
    const abort = new AbortController();
    const sleeping = onB.execute({ tool: "sleep", sessionId, args: { seconds: 60 } }, { signal: abort.signal });
    await until(() => owner.stats().inFlight === 1, 10_000, "the call to run on A");
    abort.abort();
    expect((await rejection(sleeping, ConnectError)).code).toBe(Code.Canceled);
    await until(() => owner.stats().errorsByCode.canceled === 1, 10_000, "A to count the call cancelled");
    expect(json((await onB.execute({ tool: "counter", sessionId, resultAsJson: true }, { timeoutMs: 10_000 })).resultJson)).toBe(1);

    // A stream cancelled through B stops on A.
    const leave = new AbortController();
    const left = await (async () => {
      for await (const m of onB.executeStream({ tool: "count", args: { n: 1_000_000 }, sessionId }, { signal: leave.signal })) {
        if (m.event.case === "chunk") leave.abort();
      }
    })().then(() => undefined, (e: unknown) => e);
    expect(ConnectError.from(left).code).toBe(Code.Canceled);
    await until(() => owner.stats().inFlight === 0, 10_000, "A's generator to stop");

    // A deadline that passes on A answers DEADLINE_EXCEEDED through B.
    expect((await rejection(onB.execute({ tool: "sleep", sessionId, args: { seconds: 60 } }, { timeoutMs: 300 }), ConnectError)).code).toBe(Code.DeadlineExceeded);
  }, 60_000);

  it("answers NOT_FOUND saying the session's server is gone when its owner stopped", async () => {
    const [a, b] = await replicas();
    const sessionId = (await clientFor(PoolService, a!.url, "connect", ALICE).createSession({})).session!.id;
    await a!.close();
    const e = await rejection(clientFor(PoolService, b!.url, "connect", ALICE).execute({ tool: "counter", sessionId }), ConnectError);
    expect(e.code).toBe(Code.NotFound);
    expect(e.rawMessage).toBe(`session "${sessionId}": its server (replica ${a!.fleet.id}) is gone, and the session's worker state and variables with it; create a new session`);
  }, 60_000);

  it("answers NOT_FOUND saying the session's server is gone when its owner was killed", async () => {
    const store = await postgres.database();
    const dir = mkdtempSync(join(tmpdir(), "pyfleet-forward-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "pyfleet.yaml");
    writeFileSync(file, JSON.stringify({ port: 0, dataDir: dir, store, auth: { apiKeys: keys }, pools }));
    const a = await startServe(["-c", file]);
    const [b, c] = [await startServer({ store, auth: { apiKeys: keys }, pools }), await startServer({ store, auth: { apiKeys: keys }, pools })];
    const onA = clientFor(PoolService, a.url, "connect", ALICE);
    const sessionId = (await onA.createSession({})).session!.id;
    const [onB, onC] = [b, c].map((s) => clientFor(PoolService, s.url, "connect", ALICE));
    expect(json((await onB!.execute({ tool: "counter", sessionId, resultAsJson: true }, { timeoutMs: 30_000 })).resultJson)).toBe(1);
    a.child.kill("SIGKILL");
    await a.exited;
    // C never talked to A: nothing listens at A's address, so the session's server is gone.
    const e = await rejection(onC!.getSession({ sessionId }), ConnectError);
    expect(e.code).toBe(Code.NotFound);
    expect(e.rawMessage).toMatch(/^session "ses_[0-9a-z]{26}\.rep_[0-9a-z]{26}": its server \(replica rep_[0-9a-z]{26}\) is gone/);
    // B's connection to A may only learn it broke from this call (UNAVAILABLE); the next one finds A gone.
    const first = await rejection(onB!.getSession({ sessionId }), ConnectError);
    expect([Code.NotFound, Code.Unavailable]).toContain(first.code);
    expect((await rejection(onB!.getSession({ sessionId }), ConnectError)).code).toBe(Code.NotFound);
  }, 60_000);
});
