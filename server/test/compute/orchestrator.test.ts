import { create } from "@bufbuild/protobuf";
import { ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { JobStatus, MachineSpecSchema, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { describe, expect, it } from "vitest";
import { PyfleetError } from "../../src/errors.js";
import { type ComputeChange, SqliteStore } from "../../src/compute/index.js";
import { rejection } from "../helpers.js";
import { openOrchestrator, spec } from "./helpers.js";

function nextChange(o: { events: NodeJS.EventEmitter }, status: ComputeStatus): Promise<ComputeChange> {
  return new Promise((resolve) => {
    const listener = (c: ComputeChange) => {
      if (c.compute.status === status) {
        o.events.off("change", listener);
        resolve(c);
      }
    };
    o.events.on("change", listener);
  });
}

describe("spawning", () => {
  it("records the compute, spawns on the mock and is ready at once", async () => {
    const { o, mock } = await openOrchestrator();
    const c = await o.spawn("alice", spec({ gpu: "h100", gpuCount: 2, labels: { team: "ml" } }));
    expect(c).toMatchObject({ status: ComputeStatus.READY, provider: "mock", gpuType: "NVIDIA H100 80GB HBM3", owner: "alice" });
    expect(c.costPerHour).toBeCloseTo(2 * 2.69);
    const machine = await mock.get(c.providerId);
    expect(machine.labels).toEqual({ team: "ml", "pyfleet.compute-id": c.id, "pyfleet.owner": "alice", "pyfleet.managed": "true" });
    expect((await o.get("alice", c.id)).readyAt).toBeGreaterThan(0);
  });

  it("is idempotent by client request id: one machine for two spawns", async () => {
    const { o, mock } = await openOrchestrator();
    const a = await o.spawn("alice", spec({ clientRequestId: "req-1" }));
    const b = await o.spawn("alice", spec({ clientRequestId: "req-1" }));
    expect(b.id).toBe(a.id);
    expect(await mock.list()).toHaveLength(1);
    const other = await o.spawn("bob", spec({ clientRequestId: "req-1" }));
    expect(other.id).not.toBe(a.id);
  });

  it("rejects bad specs with the contract's codes", async () => {
    const { o } = await openOrchestrator();
    const gpu = await rejection(o.spawn("", spec({ gpu: "h1000" })), PyfleetError);
    expect(gpu.code).toBe("invalid_argument");
    expect(gpu.message).toContain("h100");
    expect((await rejection(o.spawn("", spec({ provider: "nope" })), PyfleetError)).code).toBe("not_found");
    expect((await rejection(o.spawn("", spec({ labels: { "pyfleet.x": "1" } })), PyfleetError)).code).toBe("invalid_argument");
    expect((await rejection(o.spawn("", spec({ workers: { pool: "default" } })), PyfleetError)).code).toBe("unimplemented");
    expect((await rejection(o.spawn("", spec({ ports: [{ port: 70000 }] })), PyfleetError)).code).toBe("invalid_argument");
  });

  it("records a failed spawn and reports the provider's error", async () => {
    const { o, mock } = await openOrchestrator();
    mock.failNextSpawn("resource_exhausted", "no H100 left");
    const error = await rejection(o.spawn("", spec()), PyfleetError);
    expect(error.code).toBe("resource_exhausted");
    const [failed] = await o.list("", { statuses: [ComputeStatus.FAILED] });
    expect(failed?.statusMessage).toContain("no H100 left");
  });

  it("tries a failed spawn again when it is retried with its request id, on the same compute", async () => {
    const { o, mock } = await openOrchestrator();
    mock.failNextSpawn("unavailable", "provider down");
    expect((await rejection(o.spawn("alice", spec({ clientRequestId: "req-f" })), PyfleetError)).code).toBe("unavailable");
    const [failed] = await o.list("alice", { statuses: [ComputeStatus.FAILED] });
    const retried = await o.spawn("alice", spec({ clientRequestId: "req-f" }));
    expect(retried.id).toBe(failed!.id);
    expect(retried.status).toBe(ComputeStatus.READY);
    expect(await mock.list()).toHaveLength(1);
    // Once a machine exists, a retry is answered with it and nothing new is made.
    expect((await o.spawn("alice", spec({ clientRequestId: "req-f" }))).id).toBe(failed!.id);
    expect(await mock.list()).toHaveLength(1);
  });
});

describe("waiting and watching", () => {
  it("streams PROVISIONING until the provider runs it, then READY", async () => {
    const { o, mock } = await openOrchestrator();
    mock.provisionFor(3);
    const c = await o.spawn("", spec());
    expect(c.status).toBe(ComputeStatus.PROVISIONING);
    const seen: ComputeStatus[] = [];
    for await (const state of o.wait("", c.id, 5_000, new AbortController().signal)) seen.push(state.status);
    expect(seen[0]).toBe(ComputeStatus.PROVISIONING);
    expect(seen.at(-1)).toBe(ComputeStatus.READY);
  });

  it("fails the wait when the compute is preempted, and watchers see it", async () => {
    const { o, mock } = await openOrchestrator();
    mock.provisionFor(1_000_000);
    const c = await o.spawn("", spec({ spot: true }));
    const abort = new AbortController();
    const watched: ComputeStatus[] = [];
    const watching = (async () => {
      for await (const change of o.watch("", {}, true, abort.signal)) {
        watched.push(change.compute.status);
        if (change.compute.status === ComputeStatus.TERMINATED) abort.abort();
      }
    })();
    const waiting = (async () => {
      for await (const _ of o.wait("", c.id, 5_000, new AbortController().signal)) {
        mock.preempt(c.providerId);
      }
    })();
    const error = await rejection(waiting, PyfleetError);
    expect(error.code).toBe("failed_precondition");
    expect(error.message).toContain("preempted");
    await watching;
    expect(watched).toEqual([ComputeStatus.PROVISIONING, ComputeStatus.TERMINATED]);
  });

  it("gives up waiting after the timeout with DEADLINE_EXCEEDED", async () => {
    const { o, mock } = await openOrchestrator();
    mock.provisionFor(1_000_000);
    const c = await o.spawn("", spec());
    const error = await rejection((async () => {
      for await (const _ of o.wait("", c.id, 100, new AbortController().signal)) { /* statuses */ }
    })(), PyfleetError);
    expect(error.code).toBe("deadline_exceeded");
  });
});

describe("lifecycle", () => {
  it("stops, starts, touches and terminates; terminate is idempotent", async () => {
    const { o } = await openOrchestrator();
    const c = await o.spawn("", spec());
    expect((await o.stop("", c.id)).status).toBe(ComputeStatus.STOPPED);
    expect((await o.start("", c.id)).status).toBe(ComputeStatus.READY);
    const touched = await o.touch("", c.id);
    expect(touched.lastActiveAt).toBeGreaterThanOrEqual(c.lastActiveAt);
    expect((await o.terminate("", c.id)).status).toBe(ComputeStatus.TERMINATED);
    expect((await o.terminate("", c.id)).status).toBe(ComputeStatus.TERMINATED);
    expect((await rejection(o.start("", c.id), PyfleetError)).code).toBe("failed_precondition");
    expect((await rejection(o.touch("", c.id), PyfleetError)).code).toBe("failed_precondition");
    expect((await o.list("")).map((x) => x.id)).not.toContain(c.id);
    expect((await o.list("", { statuses: [ComputeStatus.TERMINATED] })).map((x) => x.id)).toContain(c.id);
  });

  it("a poll leaves a compute TERMINATING while its machine still runs (another replica's terminate in flight)", async () => {
    const { o, store } = await openOrchestrator();
    const c = await o.spawn("", spec());
    // As another replica writes it before its provider call: the machine is still running.
    const terminating = { ...(await store.getCompute(c.id))!, status: ComputeStatus.TERMINATING, statusMessage: "terminated by the client", updatedAt: Date.now() - 5_000 };
    await store.updateCompute(terminating, ComputeStatus.READY);
    const polled = await o.get("", c.id);
    expect([polled.status, polled.statusMessage]).toEqual([ComputeStatus.TERMINATING, "terminated by the client"]);
    expect((await store.getCompute(c.id))?.status).toBe(ComputeStatus.TERMINATING);
    expect((await o.terminate("", c.id)).status).toBe(ComputeStatus.TERMINATED);
  });

  it("terminates a compute idle past its TTL", async () => {
    const { o, mock } = await openOrchestrator();
    const terminated = nextChange(o, ComputeStatus.TERMINATED);
    const c = await o.spawn("", spec({ idleTtl: { seconds: 0n, nanos: 200_000_000 } }));
    expect(o.idleExpiresAt(c)).toBeGreaterThan(Date.now());
    const change = await terminated;
    expect(change.compute.id).toBe(c.id);
    expect(change.compute.statusMessage).toContain("idle");
    expect((await mock.get(c.providerId)).status).toBe(MachineStatus.TERMINATED);
  });

  it("keeps tenants apart", async () => {
    const { o } = await openOrchestrator();
    const c = await o.spawn("alice", spec());
    expect((await rejection(o.get("bob", c.id), PyfleetError)).code).toBe("not_found");
    expect((await rejection(o.terminate("bob", c.id), PyfleetError)).code).toBe("not_found");
    expect(await o.list("bob")).toEqual([]);
  });

  it("enforces per-tenant budgets", async () => {
    const { o } = await openOrchestrator({ budgetFor: (owner) => (owner === "alice" ? { maxComputes: 2, maxCostPerHour: 3 } : undefined) });
    await o.spawn("alice", spec({ gpu: "a4000" }));
    const expensive = await rejection(o.spawn("alice", spec({ gpu: "h100", gpuCount: 2 })), PyfleetError);
    expect(expensive.code).toBe("resource_exhausted");
    expect(expensive.message).toContain("maxCostPerHour");
    await o.spawn("alice", spec({ gpu: "a4000" }));
    expect((await rejection(o.spawn("alice", spec()), PyfleetError)).message).toContain("maxComputes");
    await o.spawn("bob", spec({ gpu: "h100" }));
  });

  it("reaps labelled machines the store does not know", async () => {
    const { o, mock } = await openOrchestrator();
    const known = await o.spawn("", spec());
    const stray = await mock.spawn(create(MachineSpecSchema, { labels: { "pyfleet.managed": "true", "pyfleet.compute-id": "cmp_unknown" } }), "stray");
    const unlabelled = await mock.spawn(create(MachineSpecSchema, {}), "user");
    expect(await o.reap()).toBe(1);
    expect((await mock.get(stray.id)).status).toBe(MachineStatus.TERMINATED);
    expect((await mock.get(unlabelled.id)).status).toBe(MachineStatus.RUNNING);
    expect((await mock.get(known.providerId)).status).toBe(MachineStatus.RUNNING);
  });
});

describe("jobs", () => {
  it("runs a mock job that completes on the next get with its input echoed", async () => {
    const { o } = await openOrchestrator();
    const job = await o.runJob("", { endpoint: "ep-1", input: { prompt: "hi" } });
    expect(job.status).toBe(JobStatus.QUEUED);
    const done = await o.getJob("", job.id);
    expect(done).toMatchObject({ status: JobStatus.COMPLETED, output: { prompt: "hi" } });
    expect((await o.runJob("", { endpoint: "ep-1", input: 1, clientRequestId: "j" })).id)
      .toBe((await o.runJob("", { endpoint: "ep-1", input: 1, clientRequestId: "j" })).id);
  });

  it("cancels and streams jobs", async () => {
    const { o } = await openOrchestrator();
    const cancelled = await o.cancelJob("", (await o.runJob("", { endpoint: "e", input: 1 })).id);
    expect(cancelled.status).toBe(JobStatus.CANCELLED);
    const job = await o.runJob("", { endpoint: "e", input: [1, 2] });
    const events = [];
    for await (const e of o.streamJob("", job.id, new AbortController().signal)) events.push(e);
    expect(events[0]).toEqual({ output: [1, 2] });
    expect(events[1]).toMatchObject({ job: { status: JobStatus.COMPLETED } });
    expect((await rejection(o.getJob("someone-else", job.id), PyfleetError)).code).toBe("not_found");
  });
});

describe("restart", () => {
  it("reconciles: a pending compute whose machine exists is recovered, one without is failed", async () => {
    const first = await openOrchestrator();
    const c = await first.o.spawn("", spec());
    const dir = first.dir;
    await first.o.close();
    // Simulate two crashes mid-spawn: records left PENDING, one with a machine at the provider.
    const store = new SqliteStore(`${dir}/compute.sqlite`);
    const withMachine = (await store.getCompute(c.id))!;
    await store.updateCompute({ ...withMachine, status: ComputeStatus.PENDING, providerId: "" });
    await store.createCompute({ ...withMachine, id: "cmp_lost", status: ComputeStatus.PENDING, providerId: "", clientRequestId: "" });
    await store.close();
    const second = await openOrchestrator({ dir, providers: [first.mock] });
    expect((await second.o.get("", c.id)).status).toBe(ComputeStatus.READY);
    const lost = await second.o.get("", "cmp_lost");
    expect(lost.status).toBe(ComputeStatus.FAILED);
    expect(lost.statusMessage).toContain("no machine");
  });
});
