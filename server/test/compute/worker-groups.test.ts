import { Code, ConnectError } from "@connectrpc/connect";
import { ComputeService } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { describe, expect, it, onTestFinished } from "vitest";
import { clientFor } from "../clients.js";
import { startServer } from "../helpers.js";
import { FakeRunPod } from "./fake-runpod.js";

async function serverWithRunPod(publicUrl: string | undefined) {
  const fake = await FakeRunPod.start();
  onTestFinished(() => fake.close());
  const server = await startServer({
    ...(publicUrl ? { publicUrl } : {}),
    pools: [{ name: "default", size: 0 }],
    compute: { defaultProvider: "runpod", providers: [{ kind: "runpod", apiKey: fake.apiKey, restUrl: fake.restUrl, serverlessUrl: fake.serverlessUrl, probePorts: false }] },
  });
  return { fake, compute: clientFor(ComputeService, server.url) };
}

const spec = { provider: "runpod", image: "ghcr.io/acme/models:1", workers: { pool: "default", count: 2 } };

describe("worker groups on a provider whose machines are elsewhere (RunPod)", () => {
  it("dial the public URL, with the worker token only in the pod's env", async () => {
    const { fake, compute } = await serverWithRunPod("https://pyfleet.example.com");
    await compute.spawnCompute({ spec });
    const body = fake.requests.find((r) => r.method === "POST" && r.path === "/v1/pods")!.body as { dockerStartCmd: string[]; env: Record<string, string> };
    const token = body.env.PYFLEET_WORKER_TOKEN!;
    expect(token).toMatch(/^\S{16,}$/);
    expect(body.dockerStartCmd).toEqual(["sh", "-c",
      "for i in $(seq 2); do 'python' '-m' 'pyfleet_bridge.worker' '--adapter' 'pyfleet_bridge.samples:SampleAdapter' '--connect' 'https://pyfleet.example.com' '--pool' 'default' & done; wait"]);
    expect(JSON.stringify(body.dockerStartCmd)).not.toContain(token);
  });

  it.each([
    [undefined, "no public URL is set"],
    ["http://127.0.0.1:8080", "publicUrl is http://127.0.0.1:8080, a loopback or unspecified address"],
    ["http://0.0.0.0:8080", "publicUrl is http://0.0.0.0:8080, a loopback or unspecified address"],
    ["http://[::1]:8080", "publicUrl is http://[::1]:8080, a loopback or unspecified address"],
    ["http://localhost:8080", "publicUrl is http://localhost:8080, a loopback or unspecified address"],
  ])("are refused FAILED_PRECONDITION naming publicUrl when it is %s, and no pod is made", async (publicUrl, says) => {
    const { fake, compute } = await serverWithRunPod(publicUrl);
    const e = await compute.spawnCompute({ spec }).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(ConnectError);
    expect((e as ConnectError).code).toBe(Code.FailedPrecondition);
    expect((e as ConnectError).rawMessage).toContain(says);
    expect((e as ConnectError).rawMessage).toContain("set publicUrl in the config (or $PYFLEET_PUBLIC_URL)");
    expect(fake.requests.filter((r) => r.method === "POST")).toEqual([]);
  });
});
