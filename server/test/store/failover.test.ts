// Replicas as real processes (`pyfleet serve`) on one Postgres: SIGKILL the
// upkeep leader while clients spawn and watch through the others, then
// restart Postgres under load. Machines live behind one served mock provider.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { ComputeService, ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { MockProvider, serveProvider } from "../../src/index.js";
import { clientFor } from "../clients.js";
import { until } from "../procs.js";
import { nextLog, type ServeProcess, startServe } from "../serve-process.js";
import { type PostgresServer, startPostgres } from "./postgres.js";

let postgres: PostgresServer;
beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);
afterAll(() => postgres?.stop());

const RUNS_UPKEEP = "this replica runs upkeep now";

interface Replica extends ServeProcess {
  /** When this replica last logged that it runs upkeep (ms since epoch), if it did. */
  leadingSince: number | undefined;
  /** Whether it runs upkeep now, by its log. */
  leading: boolean;
}

/** Starts `pyfleet serve` with the config and resolves once it listens; its leadership follows its log. */
async function startReplica(configFile: string): Promise<Replica> {
  const leadership: Pick<Replica, "leadingSince" | "leading"> = { leadingSince: undefined, leading: false };
  const served = await startServe(["-c", configFile], {
    onLog: (entry) => {
      if (entry.msg === RUNS_UPKEEP) {
        leadership.leadingSince = Date.now();
        leadership.leading = true;
      }
      if (entry.msg?.startsWith("lost the Postgres session")) leadership.leading = false;
    },
  });
  // One object: the log keeps updating it after start.
  return Object.assign(leadership, served);
}

async function fleet() {
  const dir = mkdtempSync(join(tmpdir(), "pyfleet-replicas-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const mock = new MockProvider();
  const provider = await serveProvider(mock);
  onTestFinished(() => provider.close());
  const store = await postgres.database();
  const config = join(dir, "pyfleet.yaml");
  writeFileSync(config, [
    `store: ${store}`,
    "port: 0",
    `dataDir: ${dir}`,
    "logLevel: info",
    "pools: []",
    "compute:",
    "  defaultProvider: mock",
    "  pollIntervalMs: 50",
    "  idleSweepMs: 100",
    "  providers:",
    `    - { kind: remote, name: mock, url: "${provider.url}" }`,
  ].join("\n"));
  const replicas = await Promise.all([0, 1, 2].map(() => startReplica(config)));
  const leader = await until(() => {
    const leading = replicas.filter((r) => r.leadingSince !== undefined);
    return leading.length === 1 ? leading[0] : undefined;
  }, 10_000, "one upkeep leader");
  return { replicas, leader, followers: replicas.filter((r) => r !== leader), mock };
}

describe("replica failover", () => {
  it("SIGKILL of the upkeep leader under load: nothing lost or duplicated, upkeep moves within 5 s, the others see no errors", async () => {
    const { leader, followers, mock } = await fleet();
    const clients = followers.map((r) => clientFor(ComputeService, r.url));
    // A compute whose idle TTL only upkeep can enforce: it must end after the leader dies.
    const idle = (await clients[0]!.spawnCompute({ spec: { gpu: "a4000", image: "img:1", idleTtl: { seconds: 2n } } })).compute!;

    const errors: unknown[] = [];
    const watched = new Set<string>();
    const abort = new AbortController();
    const watching = (async () => {
      try {
        for await (const e of clients[1]!.watchComputes({}, { signal: abort.signal })) watched.add(`${e.compute!.id}:${ComputeStatus[e.compute!.status]}`);
      } catch (e) {
        if (!abort.signal.aborted) errors.push(e);
      }
    })();
    let stop = false;
    const requestIds: string[] = [];
    // Each request id is sent to both followers, as a client retrying elsewhere would.
    const spawner = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const id = `load-${n}-${i}`;
        requestIds.push(id);
        try {
          const [x, y] = await Promise.all(clients.map((c) => c.spawnCompute({ spec: { gpu: "a4000", image: "img:1", clientRequestId: id } })));
          if (x!.compute!.id !== y!.compute!.id) errors.push(new Error(`request id ${id} made two computes`));
        } catch (e) {
          errors.push(e);
        }
      }
    };
    const load = [spawner(0), spawner(1)];
    await until(() => requestIds.length >= 10, 10_000, "some spawns before the kill");
    // The first follower to log that it runs upkeep, listened for before the kill.
    const nextLeader = Promise.race(followers.map((r) => nextLog(r, (e) => e.msg === RUNS_UPKEEP, 10_000, "that it runs upkeep").then(() => r)));
    const killedAt = Date.now();
    leader.child.kill("SIGKILL");
    await leader.exited;
    const next = await nextLeader;
    const moved = next.leadingSince! - killedAt;
    await until(() => requestIds.length >= 40, 20_000, "spawns after the kill");
    stop = true;
    await Promise.all(load);

    // Upkeep runs again: the idle compute is terminated by the new leader.
    await until(async () => (await clients[1]!.getCompute({ id: idle.id })).compute!.status === ComputeStatus.TERMINATED, 10_000, "the idle compute to be terminated");
    abort.abort();
    await watching;
    expect(errors).toEqual([]);
    expect(moved).toBeLessThan(5_000);
    const computes = (await clients[0]!.listComputes({ pageSize: 1000, statuses: [] })).computes.filter((c) => c.spec!.clientRequestId.startsWith("load-"));
    expect(computes.map((c) => c.spec!.clientRequestId).sort()).toEqual([...new Set(requestIds)].sort());
    // One machine per compute at the provider, none without a compute.
    const machines = (await mock.list({ labels: { "pyfleet.managed": "true" } })).filter((m) => m.status !== MachineStatus.TERMINATED && m.labels["pyfleet.compute-id"]?.length);
    expect(machines.length).toBe(computes.length);
    expect(new Set(machines.map((m) => m.labels["pyfleet.compute-id"])).size).toBe(computes.length);
    // The watcher on a follower saw the other follower's spawns.
    const spawnedOnFirst = computes.find((c) => watched.has(`${c.id}:READY`));
    expect(spawnedOnFirst).toBeDefined();
    process.stdout.write(`upkeep moved ${moved} ms after SIGKILL; ${computes.length} computes spawned under load\n`);
  }, 120_000);

  it("Postgres restart under load: calls fail UNAVAILABLE, then recover without restarting pyfleet", async () => {
    const { followers, replicas } = await fleet();
    const client = clientFor(ComputeService, followers[0]!.url);
    const { compute } = await client.spawnCompute({ spec: { gpu: "a4000", image: "img:1" } });
    const codes: Code[] = [];
    let ok = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        try {
          await client.getCompute({ id: compute!.id });
          ok++;
        } catch (e) {
          codes.push(e instanceof ConnectError ? e.code : Code.Unknown);
        }
      }
    })();
    await until(() => ok > 5, 10_000, "calls before the restart");
    await postgres.kill();
    await until(() => codes.length > 3, 10_000, "calls to fail while Postgres is down");
    const okBefore = ok;
    const restartedAt = Date.now();
    await postgres.start();
    await until(() => ok > okBefore + 5, 15_000, "calls to succeed again");
    stop = true;
    await load;
    expect(new Set(codes)).toEqual(new Set([Code.Unavailable]));
    // Upkeep is elected again (it was lost with the connection), and spawning works.
    await until(() => replicas.filter((r) => r.leading).length === 1, 10_000, "one leader again");
    expect(replicas.some((r) => r.leadingSince! > restartedAt)).toBe(true);
    expect((await client.spawnCompute({ spec: { gpu: "a4000", image: "img:1" } })).compute?.status).toBe(ComputeStatus.READY);
  }, 120_000);
});
