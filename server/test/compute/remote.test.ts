import { create } from "@bufbuild/protobuf";
import { JobSpecSchema, JobStatus, MachineSpecSchema, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { describe, expect, it, onTestFinished } from "vitest";
import { MockProvider, RemoteProvider, serveProvider } from "../../src/index.js";
import { PyfleetError } from "../../src/errors.js";

describe("remote provider over ProviderService", () => {
  it("drives a served mock provider through the whole contract, codes included", async () => {
    const mock = new MockProvider("upstream");
    const served = await serveProvider(mock);
    onTestFinished(() => served.close());
    const remote = new RemoteProvider({ name: "far", url: served.url, timeoutMs: 5_000, probePorts: false });

    expect((await remote.capabilities()).stopStart).toBe(true);
    const m = await remote.spawn(create(MachineSpecSchema, { gpu: "l4", image: "img", labels: { k: "v" } }), "r1");
    expect(m.status).toBe(MachineStatus.RUNNING);
    expect((await remote.spawn(create(MachineSpecSchema, { gpu: "l4", image: "img" }), "r1")).id).toBe(m.id);
    expect((await remote.list({ labels: { k: "v" } })).map((x) => x.id)).toEqual([m.id]);
    expect((await remote.stop(m.id)).status).toBe(MachineStatus.STOPPED);
    expect((await remote.start(m.id)).status).toBe(MachineStatus.RUNNING);
    expect((await remote.terminate(m.id)).status).toBe(MachineStatus.TERMINATED);
    expect((await remote.gpuTypes()).map((g) => g.alias)).toContain("h100");

    const missing = await remote.get("nope").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PyfleetError);
    expect((missing as PyfleetError).code).toBe("not_found");
    const badGpu = await remote.spawn(create(MachineSpecSchema, { gpu: "zzz" }), "r2").catch((e: unknown) => e);
    expect((badGpu as PyfleetError).code).toBe("invalid_argument");

    const job = await remote.runJob(create(JobSpecSchema, { endpoint: "e" }));
    const events = [];
    for await (const e of remote.streamJob(job.id, new AbortController().signal)) events.push(e);
    expect(events.at(-1)).toMatchObject({ job: { status: JobStatus.COMPLETED } });
    await remote.reset();
    expect(await mock.list({ includeTerminated: true })).toEqual([]);
  });
});
