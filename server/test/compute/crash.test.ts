import { join } from "node:path";
import { ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { type ComputeChange, type Orchestrator, RunPodProvider, SqliteStore } from "../../src/compute/index.js";
import { FakeRunPod } from "./fake-runpod.js";
import { openOrchestrator, tempDir } from "./helpers.js";

function statusReached(o: Orchestrator, id: string, status: ComputeStatus): Promise<void> {
  return new Promise((resolve) => {
    const listener = (c: ComputeChange) => {
      if (c.compute.id === id && c.compute.status === status) {
        o.events.off("change", listener);
        resolve();
      }
    };
    o.events.on("change", listener);
    void o.get("", id).then((c) => {
      if (c.status === status) {
        o.events.off("change", listener);
        resolve();
      }
    });
  });
}

describe("a crash between the pending record and the provider's answer", () => {
  it("is reconciled at the next start, and the machine is later reaped by its idle TTL", async () => {
    const fake = await FakeRunPod.start();
    fake.script("POST", /^\/v1\/pods$/, ["create-then-hang"]);
    const dir = tempDir();
    const createReceived = new Promise<void>((resolve) => {
      fake.events.on("request", (r: { method: string; path: string }) => {
        if (r.method === "POST" && r.path === "/v1/pods") resolve();
      });
    });
    const child = execa("node", ["--conditions=pyfleet-source", "--import", "tsx", "server/test/compute/fixtures/spawner.ts",
      dir, fake.restUrl, fake.serverlessUrl, fake.apiKey], { reject: false });
    await createReceived;
    child.kill("SIGKILL");
    await child;

    const store = new SqliteStore(join(dir, "compute.sqlite"));
    const [pending] = await store.liveComputes();
    await store.close();
    expect(pending?.status).toBe(ComputeStatus.PENDING);
    expect(fake.livePods()).toHaveLength(1);
    const podId = fake.livePods()[0]!.id;

    const provider = new RunPodProvider({
      apiKey: fake.apiKey, restUrl: fake.restUrl, serverlessUrl: fake.serverlessUrl, proxyUrl: "https://{id}-{port}.proxy.runpod.net",
      probePorts: false, retries: 2, minBackoffMs: 1, maxBackoffMs: 5, timeoutMs: 2_000, streamPollMs: 10,
    });
    const { o } = await openOrchestrator({ dir, providers: [provider], defaultProvider: "runpod", idleSweepMs: 50 });
    const recovered = (await o.list("", { statuses: [] })).find((c) => c.id === pending!.id) ?? (await o.get("", pending!.id));
    expect(recovered.providerId).toBe(podId);
    await statusReached(o, pending!.id, ComputeStatus.TERMINATED);
    const final = await o.get("", pending!.id);
    expect(final.statusMessage).toContain("idle");
    expect(fake.livePods()).toEqual([]);
  });
});
