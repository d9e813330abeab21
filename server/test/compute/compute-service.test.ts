import { Code, ConnectError } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { ComputeService, ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { JobStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { describe, expect, it } from "vitest";
import { clientFor, PROTOCOLS } from "../clients.js";
import { startServer } from "../helpers.js";
import { readFileSync } from "node:fs";
import { waitForExit } from "../procs.js";

function processGroup(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
}

async function connectError(p: Promise<unknown>): Promise<ConnectError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(ConnectError);
  return e as ConnectError;
}

describe.each(PROTOCOLS)("ComputeService over %s", (protocol) => {
  it("spawns, waits for, watches, stops, starts and terminates a mock compute", async () => {
    const server = await startServer({ pools: [] });
    const compute = clientFor(ComputeService, server.url, protocol);
    const providers = await compute.listProviders({});
    expect(providers.providers.map((p) => [p.name, p.isDefault])).toEqual([["local", false], ["mock", true]]);

    const abort = new AbortController();
    const watched: ComputeStatus[] = [];
    const watching = (async () => {
      try {
        for await (const e of compute.watchComputes({}, { signal: abort.signal })) {
          watched.push(e.compute!.status);
          if (e.compute!.status === ComputeStatus.TERMINATED) abort.abort();
        }
      } catch {
        // aborted
      }
    })();

    const { compute: spawned } = await compute.spawnCompute({ spec: { gpu: "h100", image: "img", clientRequestId: `r-${protocol}`, idleTtl: { seconds: 600n } } });
    expect(spawned?.status).toBe(ComputeStatus.READY);
    // The idle clock runs from the last activity: expiry = last active + the TTL.
    expect(timestampMs(spawned!.idleExpiresAt!) - timestampMs(spawned!.lastActiveAt!)).toBe(600_000);
    const again = await compute.spawnCompute({ spec: { gpu: "h100", image: "img", clientRequestId: `r-${protocol}` } });
    expect(again.compute?.id).toBe(spawned!.id);
    const id = spawned!.id;
    const waited = [];
    for await (const w of compute.waitCompute({ id })) waited.push(w.compute!.status);
    expect(waited).toEqual([ComputeStatus.READY]);
    expect((await compute.listComputes({})).computes.map((c) => c.id)).toEqual([id]);
    const touched = (await compute.touchCompute({ id })).compute!;
    expect(timestampMs(touched.lastActiveAt!)).toBeGreaterThanOrEqual(timestampMs(spawned!.lastActiveAt!));
    expect(timestampMs(touched.idleExpiresAt!) - timestampMs(touched.lastActiveAt!)).toBe(600_000);
    expect((await compute.stopCompute({ id })).compute?.status).toBe(ComputeStatus.STOPPED);
    expect((await compute.startCompute({ id })).compute?.status).toBe(ComputeStatus.READY);
    expect((await compute.terminateCompute({ id })).compute?.status).toBe(ComputeStatus.TERMINATED);
    await watching;
    expect(watched).toEqual([ComputeStatus.PENDING, ComputeStatus.READY, ComputeStatus.STOPPED, ComputeStatus.READY, ComputeStatus.TERMINATING, ComputeStatus.TERMINATED]);

    expect((await connectError(compute.getCompute({ id: "cmp_nope" }))).code).toBe(Code.NotFound);
    expect((await connectError(compute.spawnCompute({ spec: { gpu: "h1000" } }))).code).toBe(Code.InvalidArgument);
    expect((await connectError(compute.spawnCompute({}))).rawMessage).toContain("spec");
    expect((await connectError(compute.stopCompute({ id }))).code).toBe(Code.FailedPrecondition);
  });
});

describe("local computes", () => {
  it("runs a worker group that joins pool default; its processes serve calls; terminating removes them", async () => {
    const server = await startServer({ pools: [{ name: "default", size: 1 }] });
    await server.ready();
    const compute = clientFor(ComputeService, server.url);
    const pool = clientFor(PoolService, server.url);
    const { compute: spawned } = await compute.spawnCompute({ spec: { provider: "local", workers: { pool: "default", count: 2 } } });
    const id = spawned!.id;
    const seen = [];
    for await (const w of compute.waitCompute({ id }, { timeoutMs: 30_000 })) seen.push(w.compute!.status);
    expect(seen.at(-1)).toBe(ComputeStatus.READY);
    expect((await compute.getCompute({ id })).compute?.workersAttached).toBe(2);

    const workers = server.pools.get("default").workerSummaries().filter((w) => w.group === id);
    expect(workers).toHaveLength(2);
    // Both run in the compute's process group, led by the local provider's supervisor shell.
    const groups = new Set(workers.map((w) => processGroup(w.pid)));
    expect(groups.size).toBe(1);
    const group = [...groups][0]!;
    expect(group).not.toBe(processGroup(process.pid));
    expect(readFileSync(`/proc/${group}/cmdline`, "utf8").split("\0")).toContain("pyfleet-local");

    // Three workers, three calls at once: each worker answers one.
    const answers = await Promise.all([1, 2, 3].map(() => pool.execute({ tool: "pid" })));
    const pids = new Set(answers.map((a) => a.result?.kind.value as number));
    for (const w of workers) expect(pids).toContain(w.pid);

    await compute.terminateCompute({ id });
    expect(server.pools.get("default").countGroup(id)).toBe(0);
    await waitForExit(workers.map((w) => w.pid), 5_000);
    expect((await pool.getPoolStats({})).stats?.workersRemote).toBe(0);
  });

  it("runs jobs as tool calls on a pool", async () => {
    const server = await startServer({ pools: [{ name: "default", size: 1 }] });
    await server.ready();
    const compute = clientFor(ComputeService, server.url);
    const { job } = await compute.runJob({ provider: "local", endpoint: "default/add", input: { kind: { case: "structValue", value: { fields: { a: { kind: { case: "numberValue", value: 1 } }, b: { kind: { case: "numberValue", value: 2 } } } } } } });
    let final;
    for await (const e of compute.streamJob({ id: job!.id })) if (e.event.case === "job") final = e.event.value;
    expect(final?.status).toBe(JobStatus.COMPLETED);
    expect(final?.output?.kind).toEqual({ case: "numberValue", value: 3 });
    const bad = await compute.runJob({ provider: "local", endpoint: "default/fail", input: { kind: { case: "structValue", value: { fields: { message: { kind: { case: "stringValue", value: "no" } } } } } } });
    for await (const e of compute.streamJob({ id: bad.job!.id })) if (e.event.case === "job") final = e.event.value;
    expect(final?.status).toBe(JobStatus.FAILED);
    expect(final?.error).toContain("ValueError");
    expect((await connectError(compute.runJob({ provider: "local", endpoint: "nonsense" }))).code).toBe(Code.InvalidArgument);
  });
});
