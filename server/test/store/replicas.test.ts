// Three servers (replicas) on one Postgres form one fleet: any replica
// answers for any compute, watches see every replica's changes, request ids
// and budgets hold across them. The machines live behind one served mock
// provider (a "remote" provider to every replica), as a cloud would be.
import { Code, ConnectError } from "@connectrpc/connect";
import { ComputeService, ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { loadSuites, runSuites } from "../../../conformance/src/index.js";
import { MockProvider, type PyfleetServer, serveProvider } from "../../src/index.js";
import { clientFor } from "../clients.js";
import { rejection, startServer } from "../helpers.js";
import { type PostgresServer, startPostgres } from "./postgres.js";

const ALICE = "alice-key-0123456789abcdef";
const BOB = "bob-key-0123456789abcdef00";
let postgres: PostgresServer;
beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);
afterAll(() => postgres?.stop());

/** Three replicas on a fresh database, sharing one served mock provider. */
async function replicas(extra: { budgets?: Record<string, { maxComputes?: number }>; pools?: boolean } = {}): Promise<PyfleetServer[]> {
  const store = await postgres.database();
  const provider = await serveProvider(new MockProvider());
  onTestFinished(() => provider.close());
  const config = {
    store,
    auth: { apiKeys: [{ name: "alice", key: ALICE }, { name: "bob", key: BOB }] },
    compute: {
      providers: [{ kind: "remote" as const, name: "mock", url: provider.url }],
      defaultProvider: "mock",
      pollIntervalMs: 50,
      idleSweepMs: 50,
      ...(extra.budgets ? { budgets: extra.budgets } : {}),
    },
  };
  const servers = [];
  for (let i = 0; i < 3; i++) servers.push(await startServer(extra.pools ? config : { ...config, pools: [] }));
  return servers;
}

describe("replicas on one Postgres", () => {
  it("a compute spawned on A is watched from B, read through B and terminated through C", async () => {
    const [a, b, c] = await replicas();
    const [onA, onB, onC] = [a!, b!, c!].map((s) => clientFor(ComputeService, s.url, "connect", ALICE));
    // A first compute, so that B's watch (includeInitial) shows it is subscribed before the one under test exists.
    const probe = (await onA!.spawnCompute({ spec: { gpu: "a4000", image: "img:1" } })).compute!;
    const abort = new AbortController();
    const seen: ComputeStatus[] = [];
    let subscribed!: () => void;
    const open = new Promise<void>((resolve) => {
      subscribed = resolve;
    });
    const watching = (async () => {
      for await (const e of onB!.watchComputes({ includeInitial: true }, { signal: abort.signal })) {
        if (e.compute!.id === probe.id) subscribed();
        else seen.push(e.compute!.status);
        if (e.compute!.status === ComputeStatus.TERMINATED) return;
      }
    })();
    await open;
    const { compute } = await onA!.spawnCompute({ spec: { gpu: "a4000", image: "img:1", clientRequestId: "one" } });
    expect(compute?.status).toBe(ComputeStatus.READY);
    expect((await onB!.getCompute({ id: compute!.id })).compute?.status).toBe(ComputeStatus.READY);
    expect((await onC!.listComputes({})).computes.map((x) => x.id)).toEqual([compute!.id, probe.id]);
    expect((await onC!.terminateCompute({ id: compute!.id })).compute?.status).toBe(ComputeStatus.TERMINATED);
    expect((await onA!.getCompute({ id: compute!.id })).compute?.status).toBe(ComputeStatus.TERMINATED);
    await Promise.race([watching, new Promise((_, reject) => setTimeout(() => reject(new Error(`B's watch saw only ${seen.map((s) => ComputeStatus[s]).join(", ")}`)), 10_000))]);
    abort.abort();
    expect(seen).toEqual([ComputeStatus.PENDING, ComputeStatus.READY, ComputeStatus.TERMINATING, ComputeStatus.TERMINATED]);
    // Another tenant sees nothing of it on any replica.
    expect((await rejection(clientFor(ComputeService, c!.url, "connect", BOB).getCompute({ id: compute!.id }), ConnectError)).code).toBe(Code.NotFound);
  });

  it("makes one compute for one request id and holds a budget, whichever replicas the spawns reach", async () => {
    const servers = await replicas({ budgets: { alice: { maxComputes: 2 } } });
    const clients = servers.map((s) => clientFor(ComputeService, s.url, "connect", ALICE));
    const same = await Promise.all(Array.from({ length: 6 }, (_, i) => clients[i % 3]!.spawnCompute({ spec: { gpu: "a4000", image: "img:1", clientRequestId: "shared" } })));
    expect(new Set(same.map((r) => r.compute!.id)).size).toBe(1);
    const spawns = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => clients[i % 3]!.spawnCompute({ spec: { gpu: "a4000", image: "img:1", clientRequestId: `b-${i}` } })));
    // One compute is live already: one more fits.
    expect(spawns.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = spawns.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => (r.reason as ConnectError).code);
    expect(refused).toEqual(Array(5).fill(Code.ResourceExhausted));
    expect((await clients[2]!.listComputes({})).computes).toHaveLength(2);
  });

  it("passes the server conformance suite against every replica", async () => {
    const servers = await replicas({ pools: true });
    const suites = loadSuites(new URL("../../../conformance/suites", import.meta.url).pathname);
    for (const server of servers) {
      await server.ready();
      const summary = await runSuites(suites, { target: "server", url: server.url, protocol: "connect", apiKey: ALICE, otherApiKey: BOB, parallel: 4 });
      const failed = summary.results.filter((r) => r.verdict === "failed" || r.verdict === "stale");
      // The one expected difference: the replicas' "mock" is the served mock behind a remote provider (kind "remote").
      const kind = failed.filter((r) => r.name === "compute/mock-provider-declares-capabilities" && r.reason?.includes('"name":"mock","kind":"remote"') === true);
      expect(kind).toHaveLength(1);
      expect(failed.filter((r) => !kind.includes(r)).map((r) => `${r.name}: ${r.reason}`), server.url).toEqual([]);
      expect(summary.passed).toBeGreaterThanOrEqual(200);
    }
  }, 180_000);
});
