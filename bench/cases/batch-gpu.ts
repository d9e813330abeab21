// `npm run bench -- --gpu`: batch.throughput again, with a real model on a
// real GPU: a small transformer encoder built from code (bench/gpu/model.py,
// seeded weights, nothing downloaded) on torch from PyPI, installed into a
// bench-only virtual environment keyed by bench/gpu/requirements.txt. Without
// a CUDA device it says so and measures nothing; the project never needs one.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { type BenchOptions, type BenchResult, PYTHON, ROOT, round } from "../lib.js";
import { CALLERS, measureBatching } from "./batch.js";

const REQUIREMENTS = `${ROOT}bench/gpu/requirements.txt`;

/** Why there is no usable CUDA device here, or undefined when there is one. */
function noDevice(): string | undefined {
  if (!existsSync("/dev/nvidiactl")) return "no NVIDIA driver (no /dev/nvidiactl)";
  const smi = spawnSync("nvidia-smi", ["-L"], { encoding: "utf8" });
  if (smi.status !== 0 || !/^GPU \d+/m.test(smi.stdout)) return `nvidia-smi lists no GPU (${(smi.stderr || smi.stdout || String(smi.error ?? "")).trim().split("\n")[0]})`;
  return undefined;
}

/** The model's Python, installing torch and the worker runtime on first use. */
function gpuPython(log: (line: string) => void): string {
  const hash = createHash("sha256").update(readFileSync(REQUIREMENTS)).digest("hex").slice(0, 12);
  const venv = join(process.env.PYFLEET_CACHE ?? join(homedir(), ".cache", "pyfleet"), `bench-gpu-${hash}`);
  const python = join(venv, "bin", "python");
  const stamp = join(venv, ".complete");
  if (existsSync(stamp)) return python;
  rmSync(venv, { recursive: true, force: true });
  log(`installing torch (bench/gpu/requirements.txt) and the worker runtime into ${venv} (once; torch with its CUDA libraries is a few GB)...`);
  const base = spawnSync(PYTHON, ["-c", "import sys; print(sys._base_executable)"], { encoding: "utf8" }).stdout.trim();
  const steps: [string, string[]][] = [
    [base, ["-m", "venv", venv]],
    [python, ["-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", REQUIREMENTS]],
    // Editable: the workers run this checkout's runtime.
    [python, ["-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", `${ROOT}python-bridge/worker`]],
  ];
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: --gpu needs PyPI once (torch, then the worker runtime)`);
  }
  writeFileSync(stamp, "");
  return python;
}

export async function gpuBenchmarks(o: BenchOptions): Promise<BenchResult[]> {
  const why = noDevice();
  if (why) {
    o.log(`--gpu: no CUDA device here: ${why}. batch.gpu skipped; nothing installed or measured (the other benchmarks never need a GPU).`);
    return [];
  }
  const python = gpuPython(o.log);
  const probe = spawnSync(python, ["-c", "import torch; print(torch.__version__); print(torch.cuda.is_available() and torch.cuda.get_device_name(0) or '')"], { encoding: "utf8" });
  const [torchVersion, device] = probe.stdout.trim().split("\n");
  if (probe.status !== 0 || !device) {
    o.log(`--gpu: torch ${torchVersion ?? "(did not import)"} sees no CUDA device (${probe.stderr.trim().split("\n").at(-1) ?? ""}). batch.gpu skipped.`);
    return [];
  }
  o.log(`--gpu: torch ${torchVersion} on ${device}`);
  const m = await measureBatching(o, {
    name: "gpu",
    size: 1,
    python,
    cwd: `${ROOT}bench/gpu`,
    adapter: "model:TinyEncoder",
    gpus: [0],
    startupTimeoutMs: 300_000,
  }, { batched: "embed", single: "embed_one" }, { text: "a short text to embed, about sixty bytes long, give or take" });
  const ratio = m.batchedOps / m.singleOps;
  return [{
    id: "batch.gpu",
    what: `${CALLERS} concurrent callers of a 6-layer transformer encoder (d 512, 128 tokens, built from code) on 1 worker on ${device}: batch tool (batch_size 32, batch_wait_ms 2) vs one call per pass`,
    value: Math.round(m.batchedOps),
    unit: "ops/s",
    baseline: Math.round(m.singleOps),
    ratio: round(ratio, 2),
    goal: "ratio >= 8",
    met: ratio >= 8,
    p50_ms: round(m.p50),
    p99_ms: round(m.p99),
    errors: m.errors,
    notes: `torch ${torchVersion}; mean batch ${round(m.meanBatch, 1)} calls; rounds (batched vs per call, ops/s): ${m.rounds.join("; ")}`,
  }];
}
