import { createClient } from "@connectrpc/connect";
import { ComputeService, ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { FakeRunPod, type Fault } from "../../../server/test/compute/fake-runpod.js";
import { byScale, type ChaosOptions, type ChaosResult, codeOf, startServer, transportFor } from "../lib.js";

type Script = Fault | "create-then-hang";

/** Seeded choice, so a run can be replayed. */
function chooser(seed: number) {
  let a = seed >>> 0;
  return <T>(items: readonly T[]): T => {
    a = (Math.imul(a, 1_664_525) + 1_013_904_223) >>> 0;
    return items[a % items.length]!;
  };
}

const FAULTS: Script[] = [{ status: 429, headers: { "retry-after": "0" } }, { status: 500 }, { status: 502 }, { status: 503 }, "hang", "malformed"];
const REQUEST_LABEL = "pyfleet.request-id";

/**
 * Spawns and terminations through the server's ComputeService while the
 * fake RunPod API answers 429, 5xx, nothing at all (timeouts), malformed
 * JSON, or creates the pod and then never answers. Clients retry failed
 * spawns with the same request id, as the SDK does. Afterwards there is no
 * second pod for any request, no live pod, and the store agrees with RunPod.
 */
export async function runpodFaults(o: ChaosOptions): Promise<ChaosResult> {
  const spawns = byScale(o.scale, { test: 6, quick: 20, full: 60 });
  const fake = await FakeRunPod.start();
  const { server, close } = await startServer({
    compute: {
      providers: [{
        kind: "runpod", name: "runpod", apiKey: fake.apiKey, restUrl: fake.restUrl, serverlessUrl: fake.serverlessUrl,
        probePorts: false, retries: 4, minBackoffMs: 20, maxBackoffMs: 200, timeoutMs: 300,
      }],
      defaultProvider: "runpod",
      pollIntervalMs: 50,
    },
  });
  const compute = createClient(ComputeService, transportFor(server.url));
  const pick = chooser(20261124);
  const counts = { spawns, spawn_attempts: 0, spawn_failures_seen: 0, ready: 0, terminated: 0, terminate_attempts: 0, faults_injected: 0, provider_requests: 0 };
  const errorCodes = new Map<string, number>();
  const samples = new Set<string>();
  const notes: string[] = [];
  const ids: string[] = [];

  const inject = (method: string, path: RegExp, n: number, extra: Script[] = []) => {
    const faults = Array.from({ length: n }, () => pick([...FAULTS, ...extra]));
    counts.faults_injected += faults.length;
    fake.script(method, path, faults);
  };
  const seen = (e: unknown) => {
    const code = codeOf(e);
    errorCodes.set(code, (errorCodes.get(code) ?? 0) + 1);
    if (samples.size < 4) samples.add(`${code}: ${(e as Error).message.replace(/pod\w+xyz/g, "<pod>").replace(/cmp_\w+/g, "<compute>").slice(0, 160)}`);
  };

  for (let i = 0; i < spawns; i++) {
    // Mostly within the provider's retries; every fourth spawn gets more faults than it retries, so the client must retry.
    inject("POST", /^\/v1\/pods$/, i % 4 === 3 ? 6 : 1 + (i % 3), ["create-then-hang"]);
    inject("GET", /^\/v1\/pods\/[^/]+$/, i % 2);
    const requestId = `chaos-${i}`;
    let id = "";
    for (let attempt = 0; attempt < 4 && !id; attempt++) {
      counts.spawn_attempts++;
      id = await compute.spawnCompute({ spec: { provider: "runpod", gpu: "a4000", image: "runpod/pytorch:2.4", clientRequestId: requestId } }, { timeoutMs: 30_000 })
        .then((r) => r.compute!.id, (e: unknown) => {
          counts.spawn_failures_seen++;
          seen(e);
          return "";
        });
    }
    if (!id) {
      notes.push(`spawn ${requestId} never succeeded`);
      continue;
    }
    ids.push(id);
    let ready = false;
    for (let attempt = 0; attempt < 3 && !ready; attempt++) {
      try {
        for await (const s of compute.waitCompute({ id }, { timeoutMs: 30_000 })) ready ||= s.compute?.status === ComputeStatus.READY;
      } catch (e) {
        seen(e);
      }
    }
    if (ready) counts.ready++;
    else notes.push(`compute ${id} never became READY`);
  }

  for (const [i, id] of ids.entries()) {
    inject("DELETE", /^\/v1\/pods\/[^/]+$/, i % 3);
    let done = false;
    for (let attempt = 0; attempt < 4 && !done; attempt++) {
      counts.terminate_attempts++;
      done = await compute.terminateCompute({ id }, { timeoutMs: 30_000 }).then(() => true, (e: unknown) => {
        seen(e);
        return false;
      });
    }
    if (done) counts.terminated++;
    else notes.push(`compute ${id} could not be terminated`);
  }

  // What RunPod has against what the store says.
  const pods = [...fake.pods.values()];
  const byRequest = new Map<string, number>();
  for (const pod of pods) {
    const labels = JSON.parse(pod.env.PYFLEET_LABELS ?? "{}") as Record<string, string>;
    const key = labels[REQUEST_LABEL] ?? pod.id;
    byRequest.set(key, (byRequest.get(key) ?? 0) + 1);
  }
  const duplicates = [...byRequest.values()].filter((n) => n > 1).length;
  const live = fake.livePods().map((p) => p.id);
  // Every compute of the run, terminated ones included.
  const stored = await Promise.all(ids.map(async (id) => (await compute.getCompute({ id })).compute!));
  const storedLive = stored.filter((c) => c.status !== ComputeStatus.TERMINATED);
  const unknownPods = pods.filter((p) => !stored.some((c) => c.providerId === p.id)).map((p) => p.id);
  const mismatched = stored.filter((c) => {
    const pod = fake.pods.get(c.providerId);
    return c.status === ComputeStatus.TERMINATED ? pod !== undefined && pod.desiredStatus !== "TERMINATED" : true;
  });
  counts.provider_requests = fake.requests.length;
  await close();
  await fake.close();

  if (duplicates > 0) notes.push(`${duplicates} requests got more than one pod`);
  if (live.length > 0) notes.push(`pods still running at RunPod: ${live.join(", ")}`);
  if (unknownPods.length > 0) notes.push(`pods the store does not know: ${unknownPods.join(", ")}`);
  if (mismatched.length > 0 || storedLive.length > 0) notes.push(`store and RunPod disagree on ${mismatched.map((c) => c.id).join(", ")}`);
  notes.push(`errors clients saw (then retried): ${JSON.stringify(Object.fromEntries(errorCodes))}, e.g. ${[...samples].join(" | ")}`);
  const clearErrors = [...errorCodes.keys()].every((c) => c === "UNAVAILABLE" || c === "DEADLINE_EXCEEDED");
  const met = ids.length === spawns && counts.ready === spawns && counts.terminated === spawns && duplicates === 0 && live.length === 0
    && unknownPods.length === 0 && mismatched.length === 0 && clearErrors;
  return {
    id: "runpod.faults",
    what: `${spawns} spawns, waits and terminations through ComputeService while the fake RunPod API answers 429, 500, 502, 503, times out, sends malformed JSON or creates a pod and never answers (${counts.faults_injected} faults)`,
    counts: { ...counts, pods_created: pods.length, duplicate_pods: duplicates, live_pods_after: live.length, unknown_pods: unknownPods.length },
    figure: `${counts.ready}/${spawns} ready and ${counts.terminated}/${spawns} terminated through ${counts.faults_injected} faults (${counts.provider_requests} API requests, ${counts.spawn_failures_seen} spawn failures retried by the client); ${pods.length} pods created, ${duplicates} duplicates, ${live.length} left running, store agrees: ${mismatched.length === 0 && unknownPods.length === 0 ? "yes" : "NO"}`,
    goal: "retried with backoff; clear errors; no duplicate machines; the store matches the provider afterwards",
    met,
    notes,
  };
}
