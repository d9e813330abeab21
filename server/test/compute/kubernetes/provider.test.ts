// The Kubernetes provider against a real kube-apiserver + etcd + kube-scheduler +
// kube-controller-manager, with kwok's fake nodes (see cluster.ts).
import { Writable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { AppsV1Api, BatchV1Api, KubeConfig, type V1Deployment, type V1Pod, Watch } from "@kubernetes/client-node";
import { JobSpecSchema, JobStatus, type Machine, MachineSpecSchema, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { providerConfigSchema } from "../../../src/compute/index.js";
import { type ListResult, WatchCache } from "../../../src/compute/providers/kubernetes/watch.js";
import { KubernetesProvider, PyfleetError } from "../../../src/index.js";
import { createLogger } from "../../../src/log/index.js";
import { k8sBinDir, POD_LOG_NAMESPACE, startCluster, type TestCluster } from "./cluster.js";

const bins = k8sBinDir();

let cluster: TestCluster;
let ns: string;

beforeAll(async () => {
  if (!bins) return;
  cluster = await startCluster();
  await cluster.addNode("gpu-node-0", { gpus: 8, product: "NVIDIA-H100-80GB-HBM3" });
  await cluster.addNode("cpu-node-0");
  ns = await cluster.namespace("provider");
}, 15 * 60_000);

afterAll(async () => {
  await cluster?.stop();
});

function provider(overrides: Record<string, unknown> = {}, kubeconfig = cluster.kubeconfig, logger = createLogger("silent")): KubernetesProvider {
  const config = providerConfigSchema.parse({
    kind: "kubernetes", kubeconfig, namespace: ns, minBackoffMs: 50, maxBackoffMs: 500,
    jobs: { echo: { image: "busybox:1.36", command: ["sh", "-c", "echo '{\"ok\":true}'"] } },
    ...overrides,
  });
  if (config.kind !== "kubernetes") throw new Error("unreachable");
  const p = new KubernetesProvider({ ...config, logger });
  onTestFinished(() => p.close());
  return p;
}

const spec = (fields: Parameters<typeof create<typeof MachineSpecSchema>>[1] = {}) =>
  create(MachineSpecSchema, { image: "example.invalid/app:1", labels: { "pyfleet.managed": "true" }, ...fields });

/** The first machine state of `id` that passes `pred`: the current one, or one the watch reports. */
async function machineWhere(p: KubernetesProvider, id: string, pred: (m: Machine) => boolean, ms = 60_000): Promise<Machine> {
  const started = Date.now();
  // What the watch reported for `id` meanwhile, for the error: which wait failed, and what it saw.
  const seen: string[] = [];
  return new Promise<Machine>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      void p.get(id).then((m) => reject(new Error(`machine ${id} never matched ${pred.toString()} in ${ms} ms; now: ${MachineStatus[m.status]} "${m.message}"; `
        + `reported meanwhile: ${seen.join(", ") || "nothing"}; its pod's deletions: ${cluster.deletions("pods", ns, id).join(", ") || "none"}`)), reject);
    }, ms);
    const off = p.onMachine((m) => {
      if (m.id === id) seen.push(`${MachineStatus[m.status]} "${m.message}" at ${Date.now() - started} ms`);
      if (m.id === id && pred(m)) {
        clearTimeout(timer);
        off();
        resolve(m);
      }
    });
    void p.get(id).then((m) => {
      if (pred(m)) {
        clearTimeout(timer);
        off();
        resolve(m);
      }
    }, () => undefined);
  });
}

describe.skipIf(!bins)("KubernetesProvider on a real API server", { timeout: 180_000 }, () => {
  it("spawns a GPU alias as a pod with nvidia.com/gpu requests and limits and GFD's product selector, ready with its pod IP", async () => {
    const p = provider({ nodeSelector: { "pool": "gpu" }, tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }] });
    await cluster.core.patchNode({ name: "gpu-node-0", body: [{ op: "add", path: "/metadata/labels/pool", value: "gpu" }] });
    const m = await p.spawn(spec({ gpu: "h100", gpuCount: 2, env: { MODE: "serve" }, labels: { team: "search", "pyfleet.compute-id": "cmp-1" } }), "req-gpu-1");
    expect(m.id).toMatch(/^pf-[0-9a-f]{20}$/);
    expect(m.gpuType).toBe("NVIDIA H100 80GB HBM3");
    expect(m.gpuCount).toBe(2);
    const pod = await cluster.core.readNamespacedPod({ namespace: ns, name: m.id });
    expect(pod.spec?.nodeSelector).toEqual({ pool: "gpu", "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3" });
    expect(pod.spec?.containers[0]?.resources).toEqual({ limits: { "nvidia.com/gpu": "2" }, requests: { "nvidia.com/gpu": "2" } });
    expect(pod.spec?.tolerations?.filter((t) => t.key === "nvidia.com/gpu")).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    expect(pod.spec?.containers[0]?.env).toEqual([{ name: "MODE", value: "serve" }]);
    expect(pod.metadata?.labels).toMatchObject({ team: "search", "pyfleet.compute-id": "cmp-1", "pyfleet.request-id": "req-gpu-1", "pyfleet.dev/provider": "kubernetes" });
    const ready = await machineWhere(p, m.id, (x) => x.status === MachineStatus.RUNNING);
    const ip = (await cluster.core.readNamespacedPod({ namespace: ns, name: m.id })).status?.podIP;
    expect(ip).toMatch(/^10\.0\.0\.\d+$/);
    expect(ready.message).toBe(`pod IP ${ip} on node gpu-node-0`);
    expect(ready.labels).toEqual({ team: "search", "pyfleet.compute-id": "cmp-1", "pyfleet.request-id": "req-gpu-1" });
    expect((await p.terminate(m.id)).status).toBe(MachineStatus.TERMINATED);
  });

  it("reports the scheduler's reason for an unschedulable spec", async () => {
    const p = provider();
    const m = await p.spawn(spec({ gpu: "h100", gpuCount: 16 }), "req-too-big");
    const stuck = await machineWhere(p, m.id, (x) => x.message.startsWith("unschedulable:"));
    expect(stuck.status).toBe(MachineStatus.PROVISIONING);
    expect(stuck.message).toMatch(/^unschedulable: 0\/2 nodes are available: .*1 Insufficient nvidia\.com\/gpu/);
    await p.terminate(m.id);
  });

  it("turns a pod deleted outside pyfleet into a terminated machine", async () => {
    const p = provider();
    const m = await p.spawn(spec(), "req-deleted");
    await machineWhere(p, m.id, (x) => x.status === MachineStatus.RUNNING);
    // Deleted at once, as `kubectl delete --grace-period=0 --force` does.
    await cluster.core.deleteNamespacedPod({ namespace: ns, name: m.id, gracePeriodSeconds: 0 });
    const gone = await machineWhere(p, m.id, (x) => x.status === MachineStatus.TERMINATED);
    expect(gone.message).toBe("the pod was deleted outside pyfleet");
    expect((await p.get(m.id)).status).toBe(MachineStatus.TERMINATED);
    expect((await p.list({ labels: { "pyfleet.request-id": "req-deleted" } }))).toEqual([]);
    expect((await p.list({ labels: { "pyfleet.request-id": "req-deleted" }, includeTerminated: true })).map((x) => x.id)).toEqual([m.id]);
  });

  it("keeps a pod written while its first list was on the way, and reports its deletion when it comes", async () => {
    // A list taken before the pod exists, answered only once the pod is written and put: as a
    // provider's first list can be, when a spawn comes right after the provider starts.
    const labelSelector = "pyfleet.test=watch-race";
    const before = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector });
    let answer!: (list: ListResult<V1Pod>) => void;
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const cache = new WatchCache<V1Pod>({
      kc, path: `/api/v1/namespaces/${ns}/pods`, labelSelector, logger: createLogger("silent"), minBackoffMs: 50, maxBackoffMs: 500,
      list: () => new Promise((resolve) => (answer = resolve)),
    });
    onTestFinished(() => cache.close());
    const changes: string[] = [];
    cache.onChange((type, pod) => changes.push(`${type} ${pod.metadata?.name}`));
    const synced = cache.start();
    const pod = await cluster.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: "watch-race", labels: { "pyfleet.test": "watch-race" } }, spec: { containers: [{ name: "c", image: "x" }] } } });
    cache.put(pod);
    answer({ items: before.items, resourceVersion: before.metadata!.resourceVersion! });
    await synced;
    expect(cache.get("watch-race")?.metadata?.uid).toBe(pod.metadata!.uid);
    const deleted = new Promise<void>((resolve) => cache.onChange((type, p) => type === "DELETED" && p.metadata?.name === "watch-race" && resolve()));
    await cluster.core.deleteNamespacedPod({ namespace: ns, name: "watch-race", gracePeriodSeconds: 0 });
    await deleted;
    expect(cache.get("watch-race")).toBeUndefined();
    // Put, then what the watch from the list's snapshot brings (its ADDED, the scheduler's and kwok's updates), then the deletion.
    expect(changes[0]).toBe("ADDED watch-race");
    expect(changes.filter((c) => c.startsWith("DELETED"))).toEqual(["DELETED watch-race"]);
    expect(changes.at(-1)).toBe("DELETED watch-race");
  });

  it("makes no second pod when a spawn is retried, even concurrently", async () => {
    const p = provider();
    const [a, b] = await Promise.all([p.spawn(spec(), "req-retried"), p.spawn(spec(), "req-retried")]);
    const c = await p.spawn(spec(), "req-retried");
    expect(new Set([a.id, b.id, c.id]).size).toBe(1);
    const pods = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: "pyfleet.request-id=req-retried" });
    expect(pods.items.map((x) => x.metadata?.name)).toEqual([a.id]);
    await p.terminate(a.id);
  });

  it("exposes ports through a Service owned by the pod, and mounts new volumes as PVCs", async () => {
    const p = provider({ storageClass: "fast" });
    const m = await p.spawn(spec({ ports: [{ port: 8000, protocol: "http" }, { port: 22, protocol: "tcp" }], volumes: [{ sizeGb: 20, mountPath: "/data" }] }), "req-ports");
    expect(m.endpoints.map((e) => ({ ...e }))).toEqual([
      expect.objectContaining({ port: 8000, protocol: "http", url: `http://${m.id}.${ns}.svc:8000` }),
      expect.objectContaining({ port: 22, protocol: "tcp", host: `${m.id}.${ns}.svc`, publicPort: 22 }),
    ]);
    const svc = await cluster.core.readNamespacedService({ namespace: ns, name: m.id });
    expect(svc.spec?.selector).toEqual({ "pyfleet.dev/machine": m.id });
    expect(svc.spec?.ports?.map((x) => x.port)).toEqual([8000, 22]);
    expect(svc.metadata?.ownerReferences?.map((o) => `${o.kind}/${o.name}`)).toEqual([`Pod/${m.id}`]);
    const pvc = await cluster.core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: `${m.id}-v0` });
    expect(pvc.spec?.resources?.requests).toEqual({ storage: "20Gi" });
    expect(pvc.spec?.storageClassName).toBe("fast");
    const pod = await cluster.core.readNamespacedPod({ namespace: ns, name: m.id });
    expect(pod.spec?.containers[0]?.volumeMounts).toEqual([{ name: "v0", mountPath: "/data" }]);
    expect(pod.spec?.containers[0]?.readinessProbe?.tcpSocket?.port).toBe(8000);
    await p.terminate(m.id);
  });

  it("survives an API server restart during a watch and misses no transition", async () => {
    // Its debug log says each time it opens a watch.
    let watchesOpened = 0;
    const log = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of String(chunk).split("\n")) if (line.includes('"msg":"kubernetes watch: watching"') && line.includes("/pods")) watchesOpened++;
        done();
      },
    });
    const p = provider({}, cluster.kubeconfig, createLogger("debug", log));
    await p.ready();
    const seen: string[] = [];
    p.onMachine((m) => seen.push(`${m.id}:${MachineStatus[m.status]}`));
    const running = await p.spawn(spec(), "req-restart-a");
    await machineWhere(p, running.id, (x) => x.status === MachineStatus.RUNNING);
    // Waits for a GPU product no node has yet.
    const waiting = await p.spawn(spec({ gpu: "l4" }), "req-restart-b");
    await machineWhere(p, waiting.id, (x) => x.message.startsWith("unschedulable:"));
    const before = watchesOpened;

    await cluster.stopApiServer();
    await cluster.startApiServer();
    // Both transitions happen after the restart, while the provider reconnects.
    await cluster.core.deleteNamespacedPod({ namespace: ns, name: running.id, gracePeriodSeconds: 0 });
    await cluster.addNode("l4-node-0", { gpus: 1, product: "NVIDIA-L4" });

    expect((await machineWhere(p, running.id, (x) => x.status === MachineStatus.TERMINATED)).message).toBe("the pod was deleted outside pyfleet");
    await machineWhere(p, waiting.id, (x) => x.status === MachineStatus.RUNNING);
    expect(seen).toContain(`${running.id}:TERMINATED`);
    expect(seen).toContain(`${waiting.id}:RUNNING`);
    // It watched again after the restart (resuming, or listing anew if its version had expired).
    expect(watchesOpened).toBeGreaterThan(before);
    await p.terminate(waiting.id);
  });

  it("runs a worker group as a Deployment with its token in a Secret, resizes it, and deletes both", async () => {
    const p = provider({ serverUrl: "http://pyfleet.pyfleet.svc:8080" });
    const m = await p.spawn(spec({
      image: "", labels: { "pyfleet.compute-id": "cmp-w" },
      workers: { serverUrl: "http://127.0.0.1:1", token: "wt-secret-token", pool: "default", count: 2, adapter: "pkg.mod:Adapter" },
    }), "req-workers");
    expect(m.id).toMatch(/^pfw-[0-9a-f]{20}$/);
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    const d = await apps.readNamespacedDeployment({ namespace: ns, name: m.id });
    expect(d.spec?.replicas).toBe(2);
    const c = d.spec?.template.spec?.containers[0];
    expect(c?.image).toBe("python:3.12-slim");
    expect(c?.command).toEqual(["python", "-m", "pyfleet_bridge.worker", "--adapter", "pkg.mod:Adapter", "--connect", "http://pyfleet.pyfleet.svc:8080",
      "--token", "$(PYFLEET_WORKER_TOKEN)", "--pool", "default"]);
    expect(c?.env).toEqual([{ name: "PYFLEET_WORKER_TOKEN", valueFrom: { secretKeyRef: { name: m.id, key: "token" } } }]);
    const secret = await cluster.core.readNamespacedSecret({ namespace: ns, name: m.id });
    expect(Buffer.from(secret.data?.token ?? "", "base64").toString()).toBe("wt-secret-token");
    expect(await waitReady(p, m.id, 2)).toBe("2/2 worker pods ready");
    await p.resizeWorkers(m.id, 3);
    expect(await waitReady(p, m.id, 3)).toBe("3/3 worker pods ready");
    expect((await apps.readNamespacedDeployment({ namespace: ns, name: m.id })).spec?.replicas).toBe(3);
    expect((await p.list({ labels: { "pyfleet.compute-id": "cmp-w" } })).map((x) => x.id)).toEqual([m.id]);
    expect((await p.terminate(m.id)).status).toBe(MachineStatus.TERMINATED);
    await expect(apps.readNamespacedDeployment({ namespace: ns, name: m.id })).rejects.toMatchObject({ code: 404 });
    await expect(cluster.core.readNamespacedSecret({ namespace: ns, name: m.id })).rejects.toMatchObject({ code: 404 });
  });

  it("runs a RunJob as a batch/v1 Job and streams it to its final state", async () => {
    const p = provider();
    const job = await p.runJob(create(JobSpecSchema, { endpoint: "echo", requestId: "job-1", input: { kind: { case: "numberValue", value: 7 } } }));
    expect(job.id).toMatch(/^pfj-[0-9a-f]{20}$/);
    expect((await p.runJob(create(JobSpecSchema, { endpoint: "echo", requestId: "job-1" }))).id).toBe(job.id);
    const k8sJob = await cluster.kc.makeApiClient(BatchV1Api).readNamespacedJob({ namespace: ns, name: job.id });
    expect(k8sJob.spec?.template.spec?.containers[0]?.env).toContainEqual({ name: "PYFLEET_JOB_INPUT", value: "7" });
    const events = [];
    for await (const e of p.streamJob(job.id, AbortSignal.timeout(60_000))) events.push(e);
    const last = events.at(-1);
    expect(last && "job" in last ? JobStatus[last.job.status] : last).toBe("COMPLETED");
    expect((await p.cancelJob(job.id)).status).toBe(JobStatus.COMPLETED);
    await expect(p.runJob(create(JobSpecSchema, { endpoint: "nope" }))).rejects.toThrow(/no job endpoint "nope"; configured: echo/);
    await expect(p.getJob("pfj-nothing")).rejects.toMatchObject({ code: "not_found" });
  });

  it("turns 403 into PERMISSION_DENIED naming the verb and resource", async () => {
    const p = provider({}, cluster.nobodyKubeconfig);
    const err = await p.spawn(spec(), "req-forbidden").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PyfleetError);
    expect((err as PyfleetError).code).toBe("permission_denied");
    expect((err as PyfleetError).message).toMatch(
      new RegExp(`^kubernetes: create pods "pf-[0-9a-f]{20}" in namespace "${ns}" is forbidden: the provider's identity needs verb "create" on resource "pods"`));
  });

  it("refuses stop and start, and says why", async () => {
    const p = provider();
    expect((await p.capabilities()).stopStart).toBe(false);
    await expect(p.stop("pf-x")).rejects.toMatchObject({ code: "unimplemented", message: expect.stringMatching(/a pod cannot be paused/) });
  });
});

/** The provider's message once the deployment has `n` ready pods, seen through a watch (the provider does not watch deployments). */
async function waitReady(p: KubernetesProvider, id: string, n: number): Promise<string> {
  let ready: number | undefined;
  let watching: AbortController | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`deployment ${id}: ${ready} ready after 90 s, wanted ${n}`)), 90_000);
      const settle = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      // A watch without a resource version first reports the deployment as it is now.
      new Watch(cluster.kc).watch(`/apis/apps/v1/namespaces/${ns}/deployments`, { fieldSelector: `metadata.name=${id}` }, (_type: string, d: V1Deployment) => {
        ready = d.status?.readyReplicas ?? 0;
        if (ready === n) settle();
      }, (err: unknown) => settle(new Error(`the watch of deployment ${id} ended (${ready} ready, wanted ${n}): ${String(err)}`)))
        .then((controller) => (watching = controller), (err: unknown) => settle(err as Error));
    });
  } finally {
    watching?.abort();
  }
  return (await p.get(id)).message;
}

describe.skipIf(!bins)("KubernetesProvider machine logs, served by kwok as a node's kubelet", { timeout: 180_000 }, () => {
  it("reads a pod's log through the API server: the newest lines with their times, then follows new ones", async () => {
    const logNs = await cluster.namespace(POD_LOG_NAMESPACE, { exact: true });
    const p = provider({ namespace: logNs });
    const m = await p.spawn(spec(), "req-logs-1");
    await machineWhere(p, m.id, (x) => x.status === MachineStatus.RUNNING);
    const at = new Date("2026-01-02T03:04:05.678Z");
    cluster.writePodLog(["loading model", "model loaded", "serving on :8000"], at);

    const read = async (options: { follow: boolean; tail: number }) => {
      const lines = [];
      for await (const batch of p.logs(m.id, { signal: AbortSignal.timeout(30_000), ...options })) lines.push(...batch);
      return lines;
    };
    expect(await read({ follow: false, tail: 2 })).toEqual([
      { text: "model loaded", time: at.getTime(), source: "container" },
      { text: "serving on :8000", time: at.getTime(), source: "container" },
    ]);
    expect((await read({ follow: false, tail: 100 })).map((l) => l.text)).toEqual(["loading model", "model loaded", "serving on :8000"]);

    // follow: the tail, then a line written after the request.
    const abort = new AbortController();
    const followed = p.logs(m.id, { follow: true, tail: 1, signal: abort.signal })[Symbol.asyncIterator]();
    expect((await followed.next()).value?.map((l: { text: string }) => l.text)).toEqual(["serving on :8000"]);
    cluster.writePodLog(["GET /health 200"]);
    expect((await followed.next()).value?.map((l: { text: string }) => l.text)).toEqual(["GET /health 200"]);
    abort.abort();
    await followed.return?.(undefined);

    await expect(p.logs("pf-00000000000000000000", { follow: false, tail: 1, signal: AbortSignal.timeout(5_000) })[Symbol.asyncIterator]().next())
      .rejects.toMatchObject({ code: "not_found" });
    await p.terminate(m.id);
    await expect(p.logs(m.id, { follow: false, tail: 1, signal: AbortSignal.timeout(5_000) })[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: "failed_precondition" });
  });
});
