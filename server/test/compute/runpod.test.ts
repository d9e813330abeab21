import { create } from "@bufbuild/protobuf";
import { fromJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { CloudType, JobSpecSchema, JobStatus, MachineSpecSchema, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { describe, expect, it } from "vitest";
import { RunPodProvider } from "../../src/compute/index.js";
import { PyfleetError } from "../../src/errors.js";
import { rejection } from "../helpers.js";
import { FakeRunPod } from "./fake-runpod.js";
import { openOrchestrator, spec } from "./helpers.js";

function provider(fake: FakeRunPod, overrides: Partial<ConstructorParameters<typeof RunPodProvider>[0]> = {}) {
  return new RunPodProvider({
    apiKey: fake.apiKey,
    restUrl: fake.restUrl,
    serverlessUrl: fake.serverlessUrl,
    proxyUrl: "https://{id}-{port}.proxy.runpod.net",
    probePorts: false,
    retries: 3,
    minBackoffMs: 1,
    maxBackoffMs: 5,
    timeoutMs: 2_000,
    streamPollMs: 5,
    ...overrides,
  });
}

const machineSpec = (init: Parameters<typeof create<typeof MachineSpecSchema>>[1] = {}) =>
  create(MachineSpecSchema, { gpu: "h100", image: "runpod/pytorch:2.4", ...init });

describe("RunPod pods", () => {
  it("sends the documented create body with the bearer key", async () => {
    const fake = await FakeRunPod.start();
    const rp = provider(fake);
    await rp.spawn(machineSpec({
      gpuCount: 2,
      cloudType: CloudType.SECURE,
      spot: true,
      ports: [{ port: 8000, protocol: "http" }, { port: 22, protocol: "tcp" }],
      env: { MODEL: "llama" },
      volumes: [{ sizeGb: 50, mountPath: "/data" }],
      containerDiskGb: 20,
      regions: ["EU-RO-1", "US-TX-3"],
      name: "trainer",
      labels: { team: "ml" },
    }), "req-1");
    const create = fake.requests.find((r) => r.method === "POST" && r.path === "/v1/pods")!;
    expect(create.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(create.body).toMatchObject({
      name: "trainer",
      imageName: "runpod/pytorch:2.4",
      computeType: "GPU",
      gpuTypeIds: ["NVIDIA H100 80GB HBM3"],
      gpuCount: 2,
      cloudType: "SECURE",
      interruptible: true,
      ports: ["8000/http", "22/tcp"],
      containerDiskInGb: 20,
      volumeInGb: 50,
      volumeMountPath: "/data",
      dataCenterIds: ["EU-RO-1", "US-TX-3"],
    });
    const env = (create.body as { env: Record<string, string> }).env;
    expect(env.MODEL).toBe("llama");
    expect(JSON.parse(env.PYFLEET_LABELS!)).toEqual({ team: "ml", "pyfleet.request-id": "req-1" });
  });

  it("maps pods to machines: provisioning, then running with endpoints; stop, start, delete", async () => {
    const fake = await FakeRunPod.start();
    const rp = provider(fake);
    const m = await rp.spawn(machineSpec({ ports: [{ port: 8000 }, { port: 22, protocol: "tcp" }], labels: { a: "b" } }), "r");
    expect(m.status).toBe(MachineStatus.PROVISIONING);
    expect(m.costPerHour).toBe(0.74);
    const running = await rp.get(m.id);
    expect(running.status).toBe(MachineStatus.RUNNING);
    expect(running.labels.a).toBe("b");
    expect(running.endpoints).toEqual([
      expect.objectContaining({ port: 8000, protocol: "http", url: `https://${m.id}-8000.proxy.runpod.net` }),
      expect.objectContaining({ port: 22, protocol: "tcp", host: "203.0.113.10", publicPort: 40000 }),
    ]);
    expect((await rp.stop(m.id)).status).toBe(MachineStatus.STOPPED);
    expect((await rp.start(m.id)).status).toBe(MachineStatus.RUNNING);
    expect((await rp.terminate(m.id)).status).toBe(MachineStatus.TERMINATED);
    // RunPod forgets deleted pods; the provider still answers for the ones it terminated, as the contract asks.
    expect((await rp.get(m.id)).status).toBe(MachineStatus.TERMINATED);
    expect((await rp.terminate(m.id)).status).toBe(MachineStatus.TERMINATED);
    expect((await rejection(rp.stop(m.id), PyfleetError)).code).toBe("failed_precondition");
    expect(fake.pods.get(m.id)?.desiredStatus ?? "TERMINATED").toBe("TERMINATED");
    expect(await rp.list()).toEqual([]);
  });

  it("is idempotent by request id", async () => {
    const fake = await FakeRunPod.start();
    const rp = provider(fake);
    const a = await rp.spawn(machineSpec(), "same");
    const b = await rp.spawn(machineSpec(), "same");
    expect(b.id).toBe(a.id);
    expect(fake.livePods()).toHaveLength(1);
  });

  it("maps HTTP errors to codes and never shows the key", async () => {
    const fake = await FakeRunPod.start();
    const wrongKey = provider(fake, { apiKey: "rp_wrong_key_abcdefghij" });
    const unauth = await rejection(wrongKey.list(), PyfleetError);
    expect(unauth.code).toBe("unauthenticated");
    expect(unauth.message).toContain("RUNPOD_API_KEY");
    expect(unauth.message).not.toContain("rp_wrong_key");
    const rp = provider(fake);
    expect((await rejection(rp.get("nope"), PyfleetError)).code).toBe("not_found");
    fake.script("POST", /^\/v1\/pods$/, [{ status: 400, body: { error: "gpuCount must be at least 1" } }]);
    const bad = await rejection(rp.spawn(machineSpec(), ""), PyfleetError);
    expect(bad.code).toBe("invalid_argument");
    expect(bad.message).toContain("gpuCount must be at least 1");
    expect((await rejection(rp.spawn(machineSpec({ gpu: "h1000" }), ""), PyfleetError)).message).toContain("valid: a100");
  });

  it("retries 429, 5xx, timeouts and malformed JSON with backoff, then succeeds", async () => {
    const fake = await FakeRunPod.start();
    const rp = provider(fake, { timeoutMs: 150, retries: 4 });
    fake.script("GET", /^\/v1\/pods$/, [{ status: 429, headers: { "retry-after": "0" } }, { status: 503 }, "malformed", "hang"]);
    expect(await rp.list()).toEqual([]);
    expect(fake.requests.filter((r) => r.method === "GET" && r.path === "/v1/pods")).toHaveLength(5);
  });

  it("gives up with UNAVAILABLE after its retries", async () => {
    const fake = await FakeRunPod.start();
    const rp = provider(fake, { retries: 2 });
    fake.script("GET", /^\/v1\/pods$/, [{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }]);
    const error = await rejection(rp.list(), PyfleetError);
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("3 attempts");
    expect(fake.requests).toHaveLength(3);
  });

  it("never creates a second pod when a create's answer is lost", async () => {
    const fake = await FakeRunPod.start();
    const rp = provider(fake, { timeoutMs: 150 });
    fake.script("POST", /^\/v1\/pods$/, ["create-then-hang"]);
    const m = await rp.spawn(machineSpec(), "req-lost");
    expect(fake.livePods().map((p) => p.id)).toEqual([m.id]);
    fake.script("POST", /^\/v1\/pods$/, [{ status: 502 }]);
    const n = await rp.spawn(machineSpec(), "req-502");
    expect(fake.livePods()).toHaveLength(2);
    expect(n.id).not.toBe(m.id);
  });
});

describe("RunPod serverless jobs", () => {
  it("runs, polls, streams and cancels", async () => {
    const fake = await FakeRunPod.start();
    const rp = provider(fake);
    const job = await rp.runJob(create(JobSpecSchema, { endpoint: "ep123", input: fromJson(ValueSchema, { prompt: "hi" }), timeout: { seconds: 30n } }));
    expect(fake.requests.at(-1)).toMatchObject({ method: "POST", path: "/v2/ep123/run", body: { input: { prompt: "hi" }, policy: { executionTimeout: 30000 } } });
    expect(job.status).toBe(JobStatus.QUEUED);
    expect(job.id).toMatch(/^ep123:/);
    expect((await rp.getJob(job.id)).status).toBe(JobStatus.RUNNING);
    const done = await rp.getJob(job.id);
    expect(done.status).toBe(JobStatus.COMPLETED);
    expect(done.output?.kind.case).toBe("structValue");

    const streamed = await rp.runJob(create(JobSpecSchema, { endpoint: "ep123", input: fromJson(ValueSchema, 1) }));
    const events = [];
    for await (const e of rp.streamJob(streamed.id, new AbortController().signal)) events.push(e);
    expect(events[0]).toEqual({ output: { part: 1 } });
    expect(events.at(-1)).toMatchObject({ job: { status: JobStatus.COMPLETED } });

    const cancelled = await rp.runJob(create(JobSpecSchema, { endpoint: "ep123" }));
    expect((await rp.cancelJob(cancelled.id)).status).toBe(JobStatus.CANCELLED);
    expect((await rejection(rp.getJob("ep123:missing"), PyfleetError)).code).toBe("not_found");
  });
});

describe("RunPod behind the orchestrator", () => {
  it("spawns, waits until ready and terminates a pod", async () => {
    const fake = await FakeRunPod.start();
    const { o } = await openOrchestrator({ providers: [provider(fake)], defaultProvider: "runpod" });
    const c = await o.spawn("", spec({ provider: "runpod", gpu: "a4000" }));
    const states = [];
    for await (const s of o.wait("", c.id, 5_000, new AbortController().signal)) states.push(s.status);
    expect(states.at(-1)).toBe(ComputeStatus.READY);
    await o.terminate("", c.id);
    expect(fake.livePods()).toEqual([]);
  });
});

describe.runIf(process.env.RUNPOD_API_KEY)("RunPod, live (RUNPOD_API_KEY is set)", () => {
  it("lists pods with the real API", async () => {
    const rp = new RunPodProvider({
      apiKey: process.env.RUNPOD_API_KEY!,
      restUrl: "https://rest.runpod.io/v1",
      serverlessUrl: "https://api.runpod.ai/v2",
      proxyUrl: "https://{id}-{port}.proxy.runpod.net",
      probePorts: true,
      retries: 2,
      minBackoffMs: 250,
      maxBackoffMs: 2_000,
      timeoutMs: 30_000,
      streamPollMs: 1_000,
    });
    expect(Array.isArray(await rp.list())).toBe(true);
  });
});

describe("RunPod pod logs", () => {
  it("reads the v2 log stream: the backfill without follow, then live lines with follow", async () => {
    const fake = await FakeRunPod.start();
    const rp = provider(fake, { logsUrl: fake.logsUrl });
    const pod = await rp.spawn(machineSpec(), "req-logs");
    const ts = "2026-01-02T03:04:05Z";
    fake.writePodLog(pod.id, [
      { source: "system", line: "pulling image", ts },
      { source: "container", line: "loading model", ts },
      { source: "container", line: "serving", ts },
    ]);
    const read = async (tail: number) => {
      const lines = [];
      for await (const batch of rp.logs(pod.id, { follow: false, tail, signal: AbortSignal.timeout(10_000) })) lines.push(...batch);
      return lines;
    };
    const time = Date.parse(ts);
    expect(await read(2)).toEqual([{ text: "loading model", source: "container", time }, { text: "serving", source: "container", time }]);
    expect(fake.requests.at(-1)).toMatchObject({ method: "GET", path: `/v2/pods/${pod.id}/logs`, authorization: `Bearer ${fake.apiKey}` });
    expect(fake.requests.at(-1)!.query.get("tail")).toBe("2");
    expect((await read(10_000)).map((l) => l.text)).toEqual(["pulling image", "loading model", "serving"]);
    expect(fake.requests.at(-1)!.query.get("tail")).toBe("5000");

    const abort = new AbortController();
    const followed = rp.logs(pod.id, { follow: true, tail: 1, signal: abort.signal })[Symbol.asyncIterator]();
    expect((await followed.next()).value).toEqual([{ text: "serving", source: "container", time }]);
    fake.writePodLog(pod.id, [{ source: "container", line: "GET / 200", ts: new Date().toISOString() }]);
    expect((await followed.next()).value?.map((l: { text: string }) => l.text)).toEqual(["GET / 200"]);
    abort.abort();
    expect((await followed.next()).done).toBe(true);

    expect((await rejection(rp.logs("nopod", { follow: false, tail: 1, signal: AbortSignal.timeout(5_000) })[Symbol.asyncIterator]().next(), PyfleetError)).code).toBe("not_found");
    await rp.terminate(pod.id);
    expect((await rejection(rp.logs(pod.id, { follow: false, tail: 1, signal: AbortSignal.timeout(5_000) })[Symbol.asyncIterator]().next(), PyfleetError)).code).toBe("failed_precondition");
  });
});
