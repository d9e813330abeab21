// The e2e peers: the same echo behind FastAPI + uvicorn, Ray Serve, Node's
// raw HTTP/1.1 and HTTP/2 servers and a bare connect-node server. The Python peers run from a
// bench-only virtual environment (bench/peers/requirements.txt from PyPI),
// made once and keyed by that file's hash.
import { type ChildProcess, execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { ROOT, startChild } from "./lib.js";

const REQUIREMENTS = `${ROOT}bench/peers/requirements.txt`;

/** The peers' Python, installing their packages on first use. */
export function peersPython(log: (line: string) => void): string {
  const hash = createHash("sha256").update(readFileSync(REQUIREMENTS)).digest("hex").slice(0, 12);
  const venv = join(process.env.PYFLEET_CACHE ?? join(homedir(), ".cache", "pyfleet"), `bench-peers-${hash}`);
  const python = join(venv, "bin", "python");
  const stamp = join(venv, ".complete");
  if (existsSync(stamp)) return python;
  rmSync(venv, { recursive: true, force: true });
  log(`installing the peers' Python packages (FastAPI, uvicorn, Ray Serve) into ${venv} (once; a few minutes)...`);
  const base = execFileSync(`${ROOT}.venv/bin/python`, ["-c", "import sys; print(sys._base_executable)"], { encoding: "utf8" }).trim();
  const steps: [string, string[]][] = [[base, ["-m", "venv", venv]], [python, ["-m", "pip", "install", "-q", "-r", REQUIREMENTS]]];
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: the peers need PyPI (pip install -r ${REQUIREMENTS})`);
  }
  spawnSync("touch", [stamp]);
  return python;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Waits until something accepts HTTP on `url` (uvicorn prints nothing machine-readable). */
async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      return;
    } catch {
      if (Date.now() > end) throw new Error(`nothing answered at ${url} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const EXECUTE = "/pyfleet.pool.v1.PoolService/Execute";

export async function startFastApi(python: string, workers: number) {
  const port = await freePort();
  const { spawn } = await import("node:child_process");
  const child = spawn(python, [`${ROOT}bench/peers/fastapi_echo.py`, String(port), String(workers)], { stdio: ["pipe", "inherit", "inherit"], detached: false });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}${EXECUTE}`, 60_000);
  return { child, url };
}

export async function startRay(python: string, replicas: number) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const stop = () => spawnSync(join(python, "..", "ray"), ["stop", "--force"], { stdio: "ignore" });
  let child: ChildProcess | undefined;
  try {
    ({ child } = await startChild(python, [`${ROOT}bench/peers/ray_echo.py`, String(port), String(replicas)], { RAY_USAGE_STATS_ENABLED: "0" }));
    await waitForHttp(`${url}${EXECUTE}`, 120_000);
  } catch (e) {
    // A cluster that did not come up must not keep its raylet and GCS running through the rest of the run.
    child?.kill("SIGKILL");
    stop();
    throw e;
  }
  return { child, url, stop };
}

export function startNodeRaw() {
  return startChild("node", ["--import", "tsx", "bench/peers/node-raw.ts"]);
}

/** Node's HTTP/2 server (h2c) with a raw echo, on its core stream API or its compatibility (req/res) API. */
export function startNodeRawH2(api: "stream" | "compat") {
  return startChild("node", ["--import", "tsx", "bench/peers/node-raw-h2.ts", api]);
}

export function startConnectEcho() {
  return startChild("node", ["--conditions=pyfleet-source", "--import", "tsx", "bench/peers/connect-echo.ts"]);
}
