// `pyfleet provider serve kubernetes`, certified by `pyfleet-conformance provider`
// against a real API server (see cluster.ts), with the skipped cases pinned.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { k8sBinDir, startCluster, type TestCluster } from "./cluster.js";

const bins = k8sBinDir();

const ROOT = fileURLToPath(new URL("../../../..", import.meta.url));
// Both CLIs from source (their bin/ entries run the compiled dist/).
const SOURCE = ["--conditions=pyfleet-source", "--import", "tsx"];
const PYFLEET = join(ROOT, "server/src/cli/main.ts");
const CONFORMANCE = join(ROOT, "conformance/src/cli.ts");

let cluster: TestCluster;
let child: ChildProcess | undefined;

beforeAll(async () => {
  if (!bins) return;
  cluster = await startCluster();
  await cluster.addNode("node-0", { gpus: 8, product: "NVIDIA-A100-80GB-PCIe" });
}, 15 * 60_000);

afterAll(async () => {
  child?.kill("SIGTERM");
  await cluster?.stop();
});

async function serve(config: string): Promise<string> {
  child = spawn(process.execPath, [...SOURCE, PYFLEET, "provider", "serve", "kubernetes", "--config", config, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<never>((_, reject) => child!.once("exit", (code) => reject(new Error(`pyfleet provider serve exited with ${code}`))));
  const ready = (async () => {
    for await (const line of createInterface({ input: child!.stdout! })) {
      const url = (JSON.parse(line) as { url?: string }).url;
      if (url) return url;
    }
    throw new Error("pyfleet provider serve closed stdout before serving");
  })();
  return Promise.race([ready, exited]);
}

it.skipIf(!bins)("the kubernetes provider passes the provider suite, served by `pyfleet provider serve kubernetes`", async () => {
  const ns = await cluster.namespace("conformance");
  const config = join(cluster.dir, "pyfleet.yaml");
  writeFileSync(config, JSON.stringify({
    compute: {
      providers: [{
        kind: "kubernetes", kubeconfig: cluster.kubeconfig, namespace: ns, minBackoffMs: 50, maxBackoffMs: 500,
        jobs: { echo: { image: "busybox:1.36", command: ["sh", "-c", "echo \"$PYFLEET_JOB_INPUT\""] } },
      }],
    },
  }));
  const url = await serve(config);
  const report = join(cluster.dir, "report.json");
  const run = await promisify(execFile)(process.execPath, [...SOURCE, CONFORMANCE, "provider", url, "--job-endpoint", "echo", "--parallel", "4", "--report", "json", "--report-file", report])
    .catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? "", stderr: e.stderr ?? "" }));
  const json = JSON.parse(readFileSync(report, "utf8")) as { failed: number; passed: number; cases: { name: string; verdict: string; reason?: string }[] };
  expect(json.cases.filter((c) => c.verdict === "failed" || c.verdict === "stale").map((c) => `${c.name}: ${c.reason}`), run.stdout).toEqual([]);
  // Pinned: Kubernetes has no stop/start (a pod cannot be paused), spot is off without a spot
  // placement in the config, and there is no reset on a real cluster.
  expect(json.cases.filter((c) => c.verdict === "skipped").map((c) => c.name).sort()).toEqual([
    "provider/jobs-unimplemented-without-the-capability",
    "provider/reset-clears-everything",
    "provider/spot-machine",
    "provider/stop-terminated-fails-precondition",
    "provider/stop-then-start",
    "provider/stop-twice-returns-it-unchanged",
    "provider/stop-unknown-is-not-found",
  ]);
  expect(json.passed).toBeGreaterThanOrEqual(25);
  // Nothing left behind: every case terminated what it spawned.
  const pods = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: "pyfleet.dev/role=machine" });
  expect(pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name)).toEqual([]);
}, 180_000);
