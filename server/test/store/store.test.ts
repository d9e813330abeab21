// One suite, both backends: everything the control plane keeps behaves the
// same in SQLite (one server) and Postgres (replicas sharing a fleet).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { ComputeSpecSchema, ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { EndpointSchema, JobStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { type ComputeRecord, type ComputeStore, type JobRecord, MIGRATIONS, PostgresStore, type RemoteChange, SqliteStore } from "../../src/compute/store/index.js";
import { PyfleetError } from "../../src/errors.js";
import { createLogger } from "../../src/log/index.js";
import { type PostgresServer, startPostgres } from "./postgres.js";

const logger = createLogger("silent");
let postgres: PostgresServer;
beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);
afterAll(() => postgres?.stop());

interface Backend {
  name: string;
  /** A fresh location; open() opens another store (another replica) on it. */
  fresh(): Promise<{ open(): Promise<ComputeStore>; count(table: string): Promise<number> }>;
}

const backends: Backend[] = [
  {
    name: "sqlite",
    async fresh() {
      const dir = mkdtempSync(join(tmpdir(), "pyfleet-store-"));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const file = join(dir, "compute.sqlite");
      return {
        open: () => {
          const s = new SqliteStore(file);
          onTestFinished(() => s.close());
          return Promise.resolve(s);
        },
        count: (table) => {
          const db = new Database(file, { readonly: true });
          try {
            return Promise.resolve((db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
          } finally {
            db.close();
          }
        },
      };
    },
  },
  {
    name: "postgres",
    async fresh() {
      const url = await postgres.database();
      return {
        open: async () => {
          const s = await PostgresStore.open({ url, logger, leaseCheckMs: 100 });
          onTestFinished(() => s.close());
          return s;
        },
        count: async (table) => {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            return Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
          } finally {
            await client.end();
          }
        },
      };
    },
  },
];

let ids = 0;
function compute(init: Partial<ComputeRecord> = {}): ComputeRecord {
  const now = 1_700_000_000_000 + ++ids;
  return {
    id: `cmp_${ids}`,
    owner: "alice",
    provider: "mock",
    providerId: "",
    status: ComputeStatus.PENDING,
    statusMessage: "",
    spec: create(ComputeSpecSchema, { provider: "mock", gpu: "a4000", image: "img:1", labels: { team: "ml" }, env: { A: "1" } }),
    gpuType: "a4000",
    costPerHour: 0.25,
    endpoints: [],
    clientRequestId: "",
    createdAt: now,
    updatedAt: now,
    readyAt: undefined,
    lastActiveAt: now,
    idleTtlMs: 0,
    ...init,
  };
}

function job(init: Partial<JobRecord> = {}): JobRecord {
  return {
    id: `job_${++ids}`,
    owner: "alice",
    provider: "mock",
    providerJobId: "",
    endpoint: "echo",
    status: JobStatus.QUEUED,
    input: { x: [1, "two", null] },
    output: null,
    error: "",
    clientRequestId: "",
    createdAt: 1_700_000_000_000 + ids,
    finishedAt: undefined,
    ...init,
  };
}

/** Resolves with the first value `listen` delivers, or rejects after `ms`. */
function first<T>(listen: (deliver: (v: T) => void) => () => void, ms = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`nothing arrived within ${ms} ms`));
    }, ms);
    const off = listen((v) => {
      clearTimeout(timer);
      off();
      resolve(v);
    });
  });
}

describe.each(backends)("store: $name", (backend) => {
  it("applies every migration once, and none again on reopen", async () => {
    const at = await backend.fresh();
    await at.open();
    await at.open();
    expect(await at.count("schema_migrations")).toBe(MIGRATIONS.length);
    expect(await at.count("computes")).toBe(0);
  });

  it("round-trips a compute with every field", async () => {
    const store = await (await backend.fresh()).open();
    const c = compute({ clientRequestId: "r1", idleTtlMs: 60_000 });
    expect(await store.createCompute(c)).toBe(c);
    const ready: ComputeRecord = {
      ...c, status: ComputeStatus.READY, statusMessage: "ok", providerId: "m-1", costPerHour: 1.5, readyAt: c.createdAt + 5, updatedAt: c.createdAt + 5,
      endpoints: [create(EndpointSchema, { port: 8000, protocol: "http", url: "http://10.0.0.1:8000", host: "10.0.0.1", publicPort: 18000 })],
    };
    await store.updateCompute(ready, ComputeStatus.PENDING);
    expect(await store.getCompute(c.id)).toEqual(ready);
    expect(await store.computeByRequest("alice", "r1")).toEqual(ready);
    expect(await store.computeByRequest("bob", "r1")).toBeUndefined();
    expect(await store.getCompute("cmp_none")).toBeUndefined();
  });

  it("lists newest first (per owner when asked) and live ones oldest first", async () => {
    const store = await (await backend.fresh()).open();
    const a = compute();
    const b = compute({ owner: "bob" });
    const c = compute({ status: ComputeStatus.TERMINATED });
    const d = compute({ status: ComputeStatus.FAILED });
    for (const x of [a, b, c, d]) await store.createCompute(x);
    expect((await store.allComputes()).map((x) => x.id)).toEqual([d.id, c.id, b.id, a.id]);
    expect((await store.allComputes("alice")).map((x) => x.id)).toEqual([d.id, c.id, a.id]);
    expect((await store.liveComputes()).map((x) => x.id)).toEqual([a.id, b.id]);
  });

  it("makes one compute per request id, even when two stores race", async () => {
    const at = await backend.fresh();
    const [one, two] = [await at.open(), await at.open()];
    const attempts = Array.from({ length: 8 }, (_, i) => (i % 2 ? one : two).createCompute(compute({ clientRequestId: "same" })));
    const results = await Promise.all(attempts);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(await at.count("computes")).toBe(1);
    // Another owner's identical request id is its own.
    expect((await one.createCompute(compute({ owner: "bob", clientRequestId: "same" }))).owner).toBe("bob");
  });

  it("admits a spawn against the owner's live computes inside the transaction, across stores", async () => {
    const at = await backend.fresh();
    const [one, two] = [await at.open(), await at.open()];
    await one.createCompute(compute({ owner: "bob" }));
    await one.createCompute(compute({ status: ComputeStatus.TERMINATED }));
    const seen: string[][] = [];
    const maxOne = (live: ComputeRecord[]) => {
      seen.push(live.map((c) => c.owner));
      if (live.length >= 1) throw new PyfleetError("resource_exhausted", "budget: one compute at most");
    };
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => (i % 2 ? one : two).createCompute(compute(), maxOne)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(refused.map((r) => (r.reason as PyfleetError).code)).toEqual(Array(5).fill("resource_exhausted"));
    // Only alice's live computes are counted (not bob's, not the terminated one).
    expect(seen.every((owners) => owners.every((o) => o === "alice"))).toBe(true);
    expect(await at.count("computes")).toBe(3);
  });

  it("updates only when the status is still the expected one", async () => {
    const store = await (await backend.fresh()).open();
    const c = compute({ status: ComputeStatus.FAILED });
    await store.createCompute(c);
    expect(await store.updateComputeIf({ ...c, status: ComputeStatus.PENDING }, ComputeStatus.FAILED)).toBe(true);
    expect(await store.updateComputeIf({ ...c, status: ComputeStatus.PENDING, statusMessage: "second" }, ComputeStatus.FAILED)).toBe(false);
    expect((await store.getCompute(c.id))?.statusMessage).toBe("");
    expect((await store.getCompute(c.id))?.status).toBe(ComputeStatus.PENDING);
  });

  it("records jobs, one per request id", async () => {
    const at = await backend.fresh();
    const [one, two] = [await at.open(), await at.open()];
    const j = job({ clientRequestId: "j1" });
    const raced = await Promise.all([one.createJob(j), two.createJob({ ...job({ clientRequestId: "j1" }) })]);
    expect(new Set(raced.map((r) => r.id)).size).toBe(1);
    const winner = raced[0]!;
    const done = { ...winner, status: JobStatus.COMPLETED, output: { answer: 42 }, providerJobId: "pj-1", finishedAt: winner.createdAt + 9 };
    await one.updateJob(done);
    expect(await two.getJob(winner.id)).toEqual(done);
    expect(await two.jobByRequest("alice", "j1")).toEqual(done);
    expect(await two.getJob("job_none")).toBeUndefined();
    expect(await at.count("jobs")).toBe(1);
  });

  it("elects an upkeep leader", async () => {
    const store = await (await backend.fresh()).open();
    expect(await first<boolean>((deliver) => store.onLeadership(deliver))).toBe(true);
  });
});

describe.each(backends)("store: $name, the fleet's replicas and session claims", (backend) => {
  it("records replicas and their heartbeats, and forgets one with its claims", async () => {
    const at = await backend.fresh();
    const [a, b] = [await at.open(), await at.open()];
    await a.putReplica({ id: "rep_a", url: "http://10.0.0.1:8080", seenAt: 1_000 });
    await a.putReplica({ id: "rep_a", url: "http://10.0.0.1:8080", seenAt: 2_000 });
    expect(await b.getReplica("rep_a")).toEqual({ id: "rep_a", url: "http://10.0.0.1:8080", seenAt: 2_000 });
    expect(await b.getReplica("rep_x")).toBeUndefined();
    await b.putReplica({ id: "rep_b", url: "http://10.0.0.2:8080", seenAt: 1_000 });
    expect((await b.liveReplicas(0)).map((r) => r.id)).toEqual(["rep_a", "rep_b"]);
    expect(await b.liveReplicas(1_500)).toEqual([{ id: "rep_a", url: "http://10.0.0.1:8080", seenAt: 2_000 }]);
    expect(await a.claimSession("alice", "mine", "rep_a", 0)).toBe("rep_a");
    await a.deleteReplica("rep_a");
    expect(await b.getReplica("rep_a")).toBeUndefined();
    expect(await b.sessionClaim("alice", "mine")).toBeUndefined();
  });

  it("claims a client-chosen session id for one live replica, per tenant; a stale holder's claim is taken over", async () => {
    const at = await backend.fresh();
    const [a, b] = [await at.open(), await at.open()];
    await a.putReplica({ id: "rep_a", url: "http://a", seenAt: 10_000 });
    await b.putReplica({ id: "rep_b", url: "http://b", seenAt: 10_000 });
    expect(await a.claimSession("alice", "mine", "rep_a", 5_000)).toBe("rep_a");
    expect(await b.claimSession("alice", "mine", "rep_b", 5_000)).toBe("rep_a");
    expect(await a.claimSession("alice", "mine", "rep_a", 5_000)).toBe("rep_a");
    expect(await b.claimSession("bob", "mine", "rep_b", 5_000)).toBe("rep_b");
    expect(await b.sessionClaim("alice", "mine")).toBe("rep_a");
    // rep_a last beat at 10 s: by 15 s it is stale and its claim moves.
    expect(await b.claimSession("alice", "mine", "rep_b", 15_000)).toBe("rep_b");
    await a.releaseSession("alice", "mine", "rep_a");
    expect(await a.sessionClaim("alice", "mine")).toBe("rep_b");
    await b.releaseSession("alice", "mine", "rep_b");
    expect(await a.sessionClaim("alice", "mine")).toBeUndefined();
  });
});

describe("store: sqlite shared by the processes of serve --processes", () => {
  it("has one upkeep leader, which moves when it closes, and hands each change to the other processes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pyfleet-store-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "compute.sqlite");
    const [a, b] = [new SqliteStore(file, { shared: true, checkMs: 50 }), new SqliteStore(file, { shared: true, checkMs: 50 })];
    onTestFinished(async () => {
      await Promise.all([a.close(), b.close()]);
    });
    expect(a.shared).toBe(true);
    const leadingA = first<boolean>((deliver) => a.onLeadership((l) => l && deliver(l)));
    const leadingB = first<boolean>((deliver) => b.onLeadership((l) => l && deliver(l)));
    const leader = await Promise.race([leadingA.then(() => a), leadingB.then(() => b)]);
    const other = leader === a ? b : a;
    const own: RemoteChange[] = [];
    leader.onRemoteChange((c) => own.push(c));
    const c = compute();
    const created = first<RemoteChange>((deliver) => other.onRemoteChange(deliver));
    await leader.createCompute(c);
    expect(await created).toEqual({ computeId: c.id, previous: ComputeStatus.UNSPECIFIED, status: ComputeStatus.PENDING });
    const changed = first<RemoteChange>((deliver) => other.onRemoteChange(deliver));
    await leader.updateCompute({ ...c, status: ComputeStatus.READY }, ComputeStatus.PENDING);
    expect(await changed).toEqual({ computeId: c.id, previous: ComputeStatus.PENDING, status: ComputeStatus.READY });
    expect(await leader.updateComputeIf({ ...c, status: ComputeStatus.FAILED }, ComputeStatus.PENDING, ComputeStatus.PENDING)).toBe(false);
    const took = first<boolean>((deliver) => other.onLeadership((l) => l && deliver(l)));
    await leader.close();
    expect(await took).toBe(true);
    expect(own).toEqual([]);
  });
});

describe("store: postgres between replicas", () => {
  it("tells other replicas of a status change, never the writer itself", async () => {
    const url = await postgres.database();
    const [a, b] = await Promise.all([PostgresStore.open({ url, logger, leaseCheckMs: 100 }), PostgresStore.open({ url, logger, leaseCheckMs: 100 })]);
    onTestFinished(async () => {
      await Promise.all([a.close(), b.close()]);
    });
    const own: RemoteChange[] = [];
    a.onRemoteChange((c) => own.push(c));
    const c = compute();
    const created = first<RemoteChange>((deliver) => b.onRemoteChange(deliver));
    await a.createCompute(c);
    expect(await created).toEqual({ computeId: c.id, previous: ComputeStatus.UNSPECIFIED, status: ComputeStatus.PENDING });
    const changed = first<RemoteChange>((deliver) => b.onRemoteChange(deliver));
    await a.updateCompute({ ...c, status: ComputeStatus.READY }, ComputeStatus.PENDING);
    expect(await changed).toEqual({ computeId: c.id, previous: ComputeStatus.PENDING, status: ComputeStatus.READY });
    expect(own).toEqual([]);
  });

  it("a conditional write that lost the race writes nothing and tells nobody; one that wins tells the others", async () => {
    const url = await postgres.database();
    const [a, b] = await Promise.all([PostgresStore.open({ url, logger, leaseCheckMs: 100 }), PostgresStore.open({ url, logger, leaseCheckMs: 100 })]);
    onTestFinished(async () => {
      await Promise.all([a.close(), b.close()]);
    });
    const c = compute();
    const created = first<RemoteChange>((deliver) => b.onRemoteChange(deliver));
    await a.createCompute(c);
    await created;
    // b terminates it while a (a poll, say) still holds the PENDING record it read.
    await b.updateCompute({ ...c, status: ComputeStatus.TERMINATING }, ComputeStatus.PENDING);
    const next = first<RemoteChange>((deliver) => b.onRemoteChange(deliver));
    expect(await a.updateComputeIf({ ...c, status: ComputeStatus.READY }, ComputeStatus.PENDING, ComputeStatus.PENDING)).toBe(false);
    expect((await b.getCompute(c.id))?.status).toBe(ComputeStatus.TERMINATING);
    expect(await a.updateComputeIf({ ...c, status: ComputeStatus.TERMINATED }, ComputeStatus.TERMINATING, ComputeStatus.TERMINATING)).toBe(true);
    // Notifications arrive in commit order: had the lost write announced READY, b would see it first.
    expect(await next).toEqual({ computeId: c.id, previous: ComputeStatus.TERMINATING, status: ComputeStatus.TERMINATED });
  });

  it("has exactly one leader; when it goes, another takes over within 5 s", async () => {
    const url = await postgres.database();
    const stores = await Promise.all([0, 1, 2].map(() => PostgresStore.open({ url, logger, leaseCheckMs: 100 })));
    onTestFinished(async () => {
      await Promise.all(stores.map((s) => s.close()));
    });
    const leaders = () => stores.filter((s) => s.isLeader);
    await expect.poll(() => leaders().length, { timeout: 5_000 }).toBe(1);
    const old = leaders()[0]!;
    const rest = stores.filter((s) => s !== old);
    const took = Promise.race(rest.map((s) => first<boolean>((deliver) => s.onLeadership((l) => l && deliver(l)))));
    const started = Date.now();
    await old.close();
    expect(await took).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(rest.filter((s) => s.isLeader)).toHaveLength(1);
  });

  it("replays the changes another replica made while its listening connection was down (Postgres restarted)", async () => {
    const url = await postgres.database();
    // b listens (and leads); it reconnects on its 2 s check, a writes at once through its pool.
    const b = await PostgresStore.open({ url, logger, leaseCheckMs: 2_000 });
    const a = await PostgresStore.open({ url, logger, leaseCheckMs: 60_000 });
    onTestFinished(async () => {
      await Promise.all([a.close(), b.close()]);
    });
    expect(b.isLeader).toBe(true);
    const lost = first<boolean>((deliver) => b.onLeadership((l) => !l && deliver(l)));
    await postgres.kill();
    try {
      await lost;
    } finally {
      await postgres.start();
    }
    await expect.poll(async () => (await a.getCompute("none").then(() => "up", () => "down")), { timeout: 10_000 }).toBe("up");
    const c = compute({ updatedAt: Date.now() });
    const heard = first<RemoteChange>((deliver) => b.onRemoteChange(deliver), 10_000);
    await a.createCompute(c);
    // Its NOTIFY went out while b was not listening: b hears of it by replay (the status before is not known then).
    expect(await heard).toMatchObject({ computeId: c.id, status: ComputeStatus.PENDING });
  });

  it("fails UNAVAILABLE while Postgres is down and recovers when it is back, without reopening", async () => {
    const url = await postgres.database();
    const store = await PostgresStore.open({ url, logger, leaseCheckMs: 100 });
    onTestFinished(() => store.close());
    const c = compute();
    await store.createCompute(c);
    await expect.poll(() => store.isLeader, { timeout: 5_000 }).toBe(true);
    await postgres.kill();
    try {
      const error = await store.getCompute(c.id).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(PyfleetError);
      expect((error as PyfleetError).code).toBe("unavailable");
      expect((error as PyfleetError).message).toContain("Postgres");
      await expect.poll(() => store.isLeader, { timeout: 5_000 }).toBe(false);
    } finally {
      await postgres.start();
    }
    await expect.poll(async () => (await store.getCompute(c.id).catch(() => undefined))?.id, { timeout: 10_000 }).toBe(c.id);
    await expect.poll(() => store.isLeader, { timeout: 5_000 }).toBe(true);
  });
});
