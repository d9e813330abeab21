// deploy/kubernetes: rendered by kubectl kustomize, accepted by a real API server in a
// server-side dry run, its pyfleet.yaml a valid server config, and its Role enough for
// everything the Kubernetes provider does (and nothing outside its namespace).
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import { AppsV1Api } from "@kubernetes/client-node";
import { JobSpecSchema, MachineSpecSchema, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerConfigSchema } from "../../../src/compute/index.js";
import { loadConfig } from "../../../src/config/index.js";
import { KubernetesProvider } from "../../../src/index.js";
import { createLogger } from "../../../src/log/index.js";
import { k8sBinDir, startCluster, type TestCluster } from "./cluster.js";

const ROOT = fileURLToPath(new URL("../../../..", import.meta.url));
const DEPLOY = join(ROOT, "deploy/kubernetes");
const run = promisify(execFile);
const bins = k8sBinDir();

let cluster: TestCluster;
let kubectl: string;
let rendered: string;

beforeAll(async () => {
  if (!bins) return;
  kubectl = join(bins, "kubectl");
  cluster = await startCluster();
  rendered = (await run(kubectl, ["kustomize", DEPLOY])).stdout;
}, 15 * 60_000);

afterAll(async () => {
  await cluster?.stop();
});

type Obj = { kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; spec?: Record<string, unknown> };

describe.skipIf(!bins)("deploy/kubernetes", { timeout: 180_000 }, () => {
  it("renders the server's objects, its config in a content-hashed ConfigMap", () => {
    const objs = parseAllDocuments(rendered).map((d) => d.toJS() as Obj);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      "ConfigMap/" + objs.find((o) => o.kind === "ConfigMap")!.metadata.name,
      "Deployment/pyfleet", "Namespace/pyfleet", "Role/pyfleet-provider", "RoleBinding/pyfleet-provider", "Secret/pyfleet-auth",
      "Service/pyfleet", "ServiceAccount/pyfleet",
    ].sort());
    expect(objs.find((o) => o.kind === "ConfigMap")!.metadata.name).toMatch(/^pyfleet-config-[a-z0-9]{10}$/);
    expect(objs.filter((o) => o.kind !== "Namespace").every((o) => o.metadata.namespace === "pyfleet")).toBe(true);
    const deployment = objs.find((o) => o.kind === "Deployment")!;
    const pod = (deployment.spec as { template: { metadata: { annotations: Record<string, string> }; spec: { containers: { image: string; readinessProbe: unknown }[] } } }).template;
    expect(pod.metadata.annotations).toEqual({ "prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics" });
    expect(pod.spec.containers[0]!.readinessProbe).toEqual({ grpc: { port: 8080 }, periodSeconds: 10 });
    expect(pod.spec.containers[0]!.image).toBe("ghcr.io/pyfleet/pyfleet:0.1.0");
  });

  it("ships a pyfleet.yaml the server accepts, with the Kubernetes provider", () => {
    const config = loadConfig(join(DEPLOY, "pyfleet.yaml"), {});
    expect(config.compute.providers.map((p) => p.kind)).toEqual(["kubernetes"]);
    expect(config.compute.defaultProvider).toBe("kubernetes");
  });

  it("is accepted by the API server in a server-side dry run", async () => {
    // The namespace must exist for the namespaced objects' dry run.
    await cluster.core.createNamespace({ body: { metadata: { name: "pyfleet" } } });
    const file = join(cluster.dir, "rendered.yaml");
    writeFileSync(file, rendered);
    const out = await run(kubectl, ["--kubeconfig", cluster.kubeconfig, "apply", "--dry-run=server", "-f", file]);
    expect(out.stdout.trim().split("\n").map((l) => l.replace(/ (created|configured|unchanged) \(server dry run\)$/, "")).sort()).toEqual([
      expect.stringMatching(/^configmap\/pyfleet-config-[a-z0-9]{10}$/),
      "deployment.apps/pyfleet", "namespace/pyfleet", "role.rbac.authorization.k8s.io/pyfleet-provider",
      "rolebinding.rbac.authorization.k8s.io/pyfleet-provider", "secret/pyfleet-auth", "service/pyfleet", "serviceaccount/pyfleet",
    ].sort());
  });

  it("gives the provider every permission it uses, and none outside its namespace", async () => {
    await cluster.addNode("rbac-node-0", { gpus: 4, product: "NVIDIA-L4" });
    const file = join(cluster.dir, "rendered.yaml");
    writeFileSync(file, rendered);
    await run(kubectl, ["--kubeconfig", cluster.kubeconfig, "apply", "-f", file]);
    // The pod's own credentials: a token of the pyfleet ServiceAccount.
    const token = (await cluster.core.createNamespacedServiceAccountToken({ namespace: "pyfleet", name: "pyfleet", body: { spec: { audiences: [] } } })).status?.token;
    const kubeconfig = join(cluster.dir, "kubeconfig-pyfleet-sa");
    writeFileSync(kubeconfig, JSON.stringify({
      apiVersion: "v1", kind: "Config", "current-context": "sa",
      clusters: [{ name: "test", cluster: { server: cluster.apiUrl, "certificate-authority": join(cluster.dir, "certs/apiserver.crt") } }],
      users: [{ name: "sa", user: { token } }],
      contexts: [{ name: "sa", context: { cluster: "test", user: "sa", namespace: "pyfleet" } }],
    }));
    const config = providerConfigSchema.parse({
      kind: "kubernetes", kubeconfig, minBackoffMs: 50, maxBackoffMs: 500,
      jobs: { echo: { image: "busybox:1.36", command: ["true"] } },
    });
    if (config.kind !== "kubernetes") throw new Error("unreachable");
    const p = new KubernetesProvider({ ...config, logger: createLogger("silent") });
    try {
      expect(p.namespace).toBe("pyfleet");
      await p.ready();
      const m = await p.spawn(create(MachineSpecSchema, { image: "x/app:1", gpu: "l4", ports: [{ port: 80 }], volumes: [{ sizeGb: 1 }] }), "rbac-1");
      const w = await p.spawn(create(MachineSpecSchema, { workers: { serverUrl: "http://s:1", token: "t", pool: "p", count: 1, adapter: "a:B" } }), "rbac-2");
      expect((await p.resizeWorkers(w.id, 2)).id).toBe(w.id);
      expect((await p.list()).map((x) => x.id).sort()).toEqual([m.id, w.id].sort());
      const job = await p.runJob(create(JobSpecSchema, { endpoint: "echo", requestId: "rbac-job" }));
      expect((await p.getJob(job.id)).id).toBe(job.id);
      await p.cancelJob(job.id);
      expect((await p.terminate(m.id)).status).toBe(MachineStatus.TERMINATED);
      expect((await p.terminate(w.id)).status).toBe(MachineStatus.TERMINATED);
      await expect(cluster.kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: "pyfleet", name: w.id })).rejects.toMatchObject({ code: 404 });
    } finally {
      await p.close();
    }
    // Outside its namespace it can do nothing.
    const other = providerConfigSchema.parse({ kind: "kubernetes", kubeconfig, namespace: "default", retries: 0 });
    if (other.kind !== "kubernetes") throw new Error("unreachable");
    const outside = new KubernetesProvider({ ...other, logger: createLogger("silent") });
    try {
      await expect(outside.spawn(create(MachineSpecSchema, { image: "x/app:1" }), "rbac-3")).rejects.toMatchObject({ code: "permission_denied" });
    } finally {
      await outside.close();
    }
  });
});
