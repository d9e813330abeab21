// A real Kubernetes control plane for tests, without a cluster: etcd, kube-apiserver,
// kube-scheduler, kube-controller-manager and kwok (fake nodes whose pods "run" without
// containers), on free loopback ports in a temp dir. The binaries come from
// scripts/k8s-test-bins.sh (built once per machine, cached by version).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, KubeConfig, type V1Node } from "@kubernetes/client-node";

const ROOT = fileURLToPath(new URL("../../../..", import.meta.url));
const SCRIPT = join(ROOT, "scripts/k8s-test-bins.sh");

/**
 * The directory of the built binaries: $PYFLEET_K8S_BIN_DIR (npm test sets it), else the
 * script's cache when it is complete; undefined (the tests skip, saying why) when they are not
 * built: `npm test` builds them first, or run scripts/k8s-test-bins.sh.
 */
export function k8sBinDir(): string | undefined {
  const given = process.env.PYFLEET_K8S_BIN_DIR;
  if (given && existsSync(join(given, ".complete"))) return given;
  const r = spawnSync("bash", [SCRIPT, "--check"], { encoding: "utf8" });
  const dir = r.stdout?.trim().split("\n").at(-1) ?? "";
  if (r.status === 0 && dir && existsSync(join(dir, ".complete"))) return dir;
  process.stderr.write(`[pyfleet] Kubernetes tests skipped: the test control plane is not built (${SCRIPT} builds it; npm test runs it first)\n`);
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function get(url: string, ca: Buffer | undefined, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 10_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** Waits for `check` to hold, checking every 100 ms, failing after `ms` with `what` and the log's tail. */
async function until(what: string, ms: number, check: () => Promise<boolean>, proc?: Proc): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc && proc.child.exitCode !== null) break;
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const tail = proc ? readFileSync(proc.log, "utf8").split("\n").slice(-25).join("\n") : "";
  throw new Error(`${what} did not happen within ${ms} ms${proc ? `; ${proc.name} log:\n${tail}` : ""}`);
}

interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
}

/** Pods in this namespace have a container log (kwok serves cluster.podLog): `cluster.namespace(POD_LOG_NAMESPACE, { exact: true })`. */
export const POD_LOG_NAMESPACE = "pod-logs";

/** The fields of an audit.k8s.io/v1 Event read here. */
interface AuditEvent {
  verb?: string;
  user?: { username?: string };
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp?: string;
}

export interface TestCluster {
  dir: string;
  /** A kubeconfig with a system:masters token user, context "test". */
  kubeconfig: string;
  /** A kubeconfig whose user has no permissions at all (context "test"). */
  nobodyKubeconfig: string;
  /** The container log of every pod in POD_LOG_NAMESPACE, as kwok serves it (CRI lines: `<RFC3339Nano> stdout F <text>`). */
  podLog: string;
  /** Appends lines to that log. */
  writePodLog(lines: string[], at?: Date): void;
  apiUrl: string;
  kc: KubeConfig;
  core: CoreV1Api;
  /** Creates a namespace with its default ServiceAccount (no controller waits needed), named `prefix` and a number, or `prefix` itself with `exact`. */
  namespace(prefix: string, options?: { exact?: boolean }): Promise<string>;
  /** A fake node kwok manages; GPUs advertised as nvidia.com/gpu with GFD's product label. */
  addNode(name: string, opts?: { gpus?: number; product?: string; labels?: Record<string, string> }): Promise<void>;
  /** Stops the API server (etcd keeps the data); start it again on the same port. */
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  /** Who deleted a namespace's object (from the API server's audit log): "user (user agent) at time: HTTP code", oldest first. */
  deletions(resource: string, namespace: string, name: string): string[];
  stop(): Promise<void>;
}

export async function startCluster(): Promise<TestCluster> {
  const bin = k8sBinDir();
  if (!bin) throw new Error(`the Kubernetes test binaries are not built: run ${SCRIPT}`);
  const dir = mkdtempSync(join(tmpdir(), "pyfleet-k8s-"));
  mkdirSync(join(dir, "certs"));
  const procs = new Map<string, Proc>();
  const [etcdPort, peerPort, apiPort, schedPort, kcmPort, kwokPort] = await Promise.all([1, 2, 3, 4, 5, 6].map(() => freePort()));
  const token = randomBytes(16).toString("hex");
  const nobody = randomBytes(16).toString("hex");
  writeFileSync(join(dir, "tokens.csv"), `${token},admin,admin,system:masters\n${nobody},nobody,nobody\n`);
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(join(dir, "sa.key"), privateKey.export({ type: "pkcs1", format: "pem" }));
  writeFileSync(join(dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));

  const run = (name: string, file: string, args: string[]): Proc => {
    const log = join(dir, `${name}.log`);
    const fd = openSync(log, "a");
    // They inherit the test runner's niceness (`nice npm test` makes them nice too).
    const child = spawn(join(bin, file), args, { stdio: ["ignore", fd, fd] });
    child.on("error", (e) => writeFileSync(log, `\ncould not start ${file}: ${e.message}\n`, { flag: "a" }));
    const proc = { name, child, log };
    procs.set(name, proc);
    return proc;
  };
  const stopProc = async (name: string) => {
    const p = procs.get(name);
    procs.delete(name);
    if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
    const exited = new Promise((resolve) => p.child.once("exit", resolve));
    p.child.kill("SIGTERM");
    const timer = setTimeout(() => p.child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const killAll = () => {
    for (const p of procs.values()) p.child.kill("SIGKILL");
  };
  process.once("exit", killAll);

  const apiUrl = `https://127.0.0.1:${apiPort}`;
  const ca = () => existsSync(join(dir, "certs/apiserver.crt")) ? readFileSync(join(dir, "certs/apiserver.crt")) : undefined;
  try {
    const etcd = run("etcd", "etcd", [
      "--name", "test", "--data-dir", join(dir, "etcd"),
      "--listen-client-urls", `http://127.0.0.1:${etcdPort}`, "--advertise-client-urls", `http://127.0.0.1:${etcdPort}`,
      "--listen-peer-urls", `http://127.0.0.1:${peerPort}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${peerPort}`,
      "--initial-cluster", `test=http://127.0.0.1:${peerPort}`, "--unsafe-no-fsync", "--log-level", "warn",
    ]);
    await until("etcd healthy", 30_000, async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`).then((r) => r.ok, () => false)), etcd);

    // Every delete is audited, so a test can say who removed an object it waited for.
    const auditLog = join(dir, "audit.log");
    writeFileSync(join(dir, "audit-policy.yaml"), [
      "apiVersion: audit.k8s.io/v1", "kind: Policy", "omitStages: [RequestReceived]", "rules:",
      "- level: Metadata", "  verbs: [delete, deletecollection]", "- level: None", "",
    ].join("\n"));
    const startApiServer = async () => {
      const api = run("apiserver", "kube-apiserver", [
        `--audit-policy-file=${join(dir, "audit-policy.yaml")}`, `--audit-log-path=${auditLog}`,
        `--etcd-servers=http://127.0.0.1:${etcdPort}`, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`, `--cert-dir=${join(dir, "certs")}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${join(dir, "sa.pub")}`, `--service-account-signing-key-file=${join(dir, "sa.key")}`,
        `--token-auth-file=${join(dir, "tokens.csv")}`, "--authorization-mode=RBAC", "--service-cluster-ip-range=10.96.0.0/16",
        // New nodes would carry the not-ready taint until the node controller sees them Ready; kwok's are ready at once.
        "--disable-admission-plugins=TaintNodesByCondition",
        // Pod logs go to the node's "kubelet" (kwok's server) at its InternalIP, not its name.
        "--kubelet-preferred-address-types=InternalIP",
      ]);
      await until("the API server answering /readyz", 240_000, async () => (await get(`${apiUrl}/readyz`, ca(), token)) === 200, api);
    };
    await startApiServer();

    const kubeconfigFor = (user: string, userToken: string) => {
      const file = join(dir, `kubeconfig-${user}`);
      writeFileSync(file, JSON.stringify({
        apiVersion: "v1", kind: "Config", "current-context": "test",
        clusters: [{ name: "test", cluster: { server: apiUrl, "certificate-authority": join(dir, "certs/apiserver.crt") } }],
        users: [{ name: user, user: { token: userToken } }],
        contexts: [{ name: "test", context: { cluster: "test", user } }],
      }));
      return file;
    };
    const kubeconfig = kubeconfigFor("admin", token);
    const nobodyKubeconfig = kubeconfigFor("nobody", nobody);
    const kcArgs = [`--kubeconfig=${kubeconfig}`, `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`, "--leader-elect=false", "--bind-address=127.0.0.1"];
    run("kube-scheduler", "kube-scheduler", [...kcArgs, `--secure-port=${schedPort}`]);
    run("kube-controller-manager", "kube-controller-manager", [...kcArgs, `--secure-port=${kcmPort}`,
      `--service-account-private-key-file=${join(dir, "sa.key")}`, `--root-ca-file=${join(dir, "certs/apiserver.crt")}`,
      "--controllers=*,-nodeipam", "--concurrent-deployment-syncs=2", "--concurrent-replicaset-syncs=2", "--concurrent-job-syncs=2"]);
    // kwok's server stands in for each node's kubelet: it serves the container log of every
    // pod in POD_LOG_NAMESPACE from one file in the CRI format (ClusterLogs), over TLS with
    // the API server's own certificate (the API server does not verify kubelets without a CA flag).
    const podLog = join(dir, "pod.log");
    writeFileSync(podLog, "");
    writeFileSync(join(dir, "kwok-logs.yaml"), [
      "kind: ClusterLogs", "apiVersion: kwok.x-k8s.io/v1alpha1", "metadata:", "  name: pod-logs", "spec:", "  selector:", `    matchNamespaces: [${POD_LOG_NAMESPACE}]`, "  logs:",
      `  - logsFile: ${JSON.stringify(podLog)}`, "    follow: true", "",
    ].join("\n"));
    run("kwok", "kwok", [`--kubeconfig=${kubeconfig}`, `--config=${join(bin, "kwok-stages.yaml")}`, `--config=${join(dir, "kwok-logs.yaml")}`,
      "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake", "--node-lease-duration-seconds=40",
      "--cidr=10.0.0.1/24", "--node-ip=127.0.0.1", `--server-address=127.0.0.1:${kwokPort}`, `--node-port=${kwokPort}`,
      `--tls-cert-file=${join(dir, "certs/apiserver.crt")}`, `--tls-private-key-file=${join(dir, "certs/apiserver.key")}`]);

    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    let namespaces = 0;
    return {
      dir, kubeconfig, nobodyKubeconfig, apiUrl, kc, core, podLog,
      writePodLog(lines, at = new Date()) {
        appendFileSync(podLog, lines.map((l) => `${at.toISOString().replace("Z", "000000Z")} stdout F ${l}\n`).join(""));
      },
      async namespace(prefix, options = {}) {
        const name = options.exact ? prefix : `${prefix}-${process.pid}-${++namespaces}`;
        await core.createNamespace({ body: { metadata: { name } } });
        await core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: "default" } } }).catch((e: { code?: number }) => {
          if (e.code !== 409) throw e;
        });
        return name;
      },
      async addNode(name, opts = {}) {
        const capacity: Record<string, string> = { cpu: "64", memory: "512Gi", pods: "110", ...(opts.gpus ? { "nvidia.com/gpu": String(opts.gpus) } : {}) };
        const node: V1Node = {
          metadata: {
            name,
            annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
            labels: {
              type: "kwok", "kubernetes.io/hostname": name, ...opts.labels,
              ...(opts.gpus ? { "nvidia.com/gpu.present": "true", "nvidia.com/gpu.product": opts.product ?? "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu.count": String(opts.gpus) } : {}),
            },
          },
          status: { capacity, allocatable: capacity },
        };
        await core.createNode({ body: node });
        await until(`node ${name} Ready`, 60_000, async () => {
          const n = await core.readNode({ name }).catch(() => undefined);
          return n?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
        });
      },
      deletions(resource, namespace, name) {
        if (!existsSync(auditLog)) return [];
        const out: string[] = [];
        for (const line of readFileSync(auditLog, "utf8").split("\n")) {
          if (!line) continue;
          const e = JSON.parse(line) as AuditEvent;
          const ref = e.objectRef;
          if (ref?.resource !== resource || ref.namespace !== namespace || (ref.name !== undefined && ref.name !== name)) continue;
          out.push(`${e.user?.username} (${e.userAgent}) at ${e.requestReceivedTimestamp}: ${e.verb} ${e.responseStatus?.code}`);
        }
        return out;
      },
      stopApiServer: () => stopProc("apiserver"),
      startApiServer,
      async stop() {
        for (const name of ["kwok", "kube-controller-manager", "kube-scheduler", "apiserver", "etcd"]) await stopProc(name);
        process.off("exit", killAll);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    killAll();
    throw e;
  }
}
