import { type ChildProcess, spawn } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const PYTHON = `${ROOT}.venv/bin/python`;

/** One benchmark row of latest.json. */
export interface BenchResult {
  id: string;
  what: string;
  value: number;
  unit: string;
  baseline?: number;
  /** value / baseline, oriented so that higher is better. */
  ratio?: number;
  goal: string;
  met: boolean;
  p50_ms?: number;
  p99_ms?: number;
  /** Calls that failed during the measurement (they never count as throughput). */
  errors?: number;
  notes?: string;
  /** The commit measured (filled in by run.ts). */
  commit?: string;
}

export interface BenchOptions {
  quick: boolean;
  rounds: number;
  log: (line: string) => void;
}

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Runs `fn` sequentially `n` times; returns sorted latencies in ms. */
export async function sequential(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

/** Keeps `concurrency` calls in flight for `ms`; returns ops/s, sorted latencies and errors. */
export async function closedLoop(concurrency: number, ms: number, fn: () => Promise<unknown>) {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + ms;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        await fn();
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { opsPerSecond: latencies.length / seconds, latencies, errors, total: latencies.length + errors };
}

/**
 * Starts a child that prints JSON log lines; resolves once the fields seen so
 * far (merged) satisfy `ready` (default: a "url" was printed).
 */
export async function startChild(command: string, args: string[], env: Record<string, string> = {},
  ready: (info: Record<string, unknown>) => boolean = (info) => Boolean(info.url),
  /** Each JSON line the child prints before it is ready (`info` merges them). */
  onLine?: (line: Record<string, unknown>) => void): Promise<{ child: ChildProcess; info: Record<string, unknown> }> {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "inherit"] });
  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffer = "";
    const seen: Record<string, unknown> = {};
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split("\n").slice(0, -1)) {
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue; // not JSON
        }
        Object.assign(seen, parsed);
        onLine?.(parsed);
      }
      buffer = buffer.slice(buffer.lastIndexOf("\n") + 1);
      if (ready(seen)) {
        child.stdout!.off("data", onData);
        child.stdout!.resume();
        resolve(seen);
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${command} ${args.join(" ")} exited with ${code} before it was ready`)));
  });
  return { child, info };
}

/** Stops a child and waits for it. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.stdin?.end();
  child.kill(signal);
  await exited;
}

/** The machine the numbers were measured on. */
export function machine() {
  const python = execFileSync(PYTHON, ["-c", "import platform; print(platform.python_version())"], { encoding: "utf8" }).trim();
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memory_gib: round(totalmem() / 2 ** 30, 1),
    node: process.versions.node,
    python,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** Proportional set size of a process in bytes, from /proc/PID/smaps_rollup. */
export function pssBytes(pid: number): number {
  const text = execFileSync("cat", [`/proc/${pid}/smaps_rollup`], { encoding: "utf8" });
  const match = /^Pss:\s+(\d+) kB/m.exec(text);
  return match ? Number(match[1]) * 1024 : 0;
}

/** Runs the load generator (bench/load.ts) in its own process; returns its JSON result. */
export async function runLoad(options: Record<string, unknown>): Promise<Record<string, number>> {
  const { stdout } = await import("execa").then(({ execa }) =>
    execa("node", ["--conditions=pyfleet-source", "--import", "tsx", "bench/load.ts", JSON.stringify(options)], { cwd: ROOT }));
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, number>;
}

/** Compiles the server and what it depends on (tsc -b: only what changed), so benchmarks run what users run. */
export function buildServer(): void {
  execFileSync(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, "-b", "server/tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
}

/**
 * Starts the compiled `pyfleet serve` (embedded defaults, a temp data dir),
 * as an installed server runs (not through tsx, whose per-function name
 * helpers and source maps cost a few percent of every call), and waits until
 * its pool is ready. Call buildServer() first.
 */
export async function startPyfleet(extraEnv: Record<string, string> = {}, args: string[] = []) {
  const { mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  return startChild("node", ["server/bin/pyfleet.js", "serve", ...args], {
    // The project venv has the worker runtime; a bare `python3` may not.
    PYFLEET_PORT: "0", PYFLEET_DATA_DIR: mkdtempSync(join(tmpdir(), "pyfleet-bench-")), PYFLEET_PYTHON: PYTHON, ...extraEnv,
  }, (info) => Boolean(info.url) && info.ready === true);
}

/** The commit the working tree is at, with "-dirty" when it has changes (a result describes exactly this code). */
export function gitCommit(): string {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, encoding: "utf8" }).trim() !== "";
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return "unknown";
  }
}
