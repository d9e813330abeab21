// `npm test`: every check the project has, in order, each runner's own
// summary printed as it goes and a table at the end. All steps run even when
// one fails, so one run shows everything that is wrong.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureChromium } from "./ensure-chromium.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "node_modules", ".bin");
const python = join(root, ".venv", "bin", "python");

const k8sBins = { dir: "" };
const steps = [
  { name: "buf lint", cmd: join(bin, "buf"), args: ["lint"] },
  // Builds (first run, minutes) or finds (cached by version) the Kubernetes control plane the
  // Kubernetes tests run against; vitest gets its directory in PYFLEET_K8S_BIN_DIR.
  { name: "k8s test binaries", cmd: "bash", args: [join(root, "scripts", "k8s-test-bins.sh")], capture: k8sBins },
  { name: "generated code is fresh", cmd: process.execPath, args: [join(root, "scripts", "gen.mjs"), "--check"] },
  { name: "typecheck (tsc)", cmd: join(bin, "tsc"), args: ["--noEmit", "-p", "tsconfig.json"] },
  { name: "typecheck status page", cmd: join(bin, "tsc"), args: ["--noEmit", "-p", "server/ui/tsconfig.json"] },
  // Dependencies point one way: any import cycle (type-only imports included) fails.
  { name: "no import cycles (dpdm)", cmd: join(bin, "dpdm"), args: ["--no-tree", "--no-warning", "--no-progress", "--exit-code", "circular:1",
    "server/src/**/*.ts", "sdk-ts/src/**/*.ts", "conformance/src/**/*.ts"] },
  { name: "vitest", cmd: join(bin, "vitest"), args: ["run", ...process.argv.slice(2)] },
  { name: "pytest", cmd: python, args: ["-m", "pytest", "python-bridge/tests"] },
  // npm pack + python -m build, install both outside the repo, serve, call, certify (~2-5 min warm).
  { name: "packaging (installed)", cmd: process.execPath, args: [join(root, "scripts", "packaging-test.mjs")] },
];

// The browser tests need Chromium; a failure here shows up in those tests, named.
ensureChromium();

const results = [];
for (const step of steps) {
  process.stdout.write(`\n=== ${step.name} ===\n`);
  const started = Date.now();
  const r = spawnSync(step.cmd, step.args, {
    cwd: root,
    stdio: step.capture ? ["ignore", "pipe", "inherit"] : "inherit",
    encoding: "utf8",
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      PYFLEET_PYTHON: process.env.PYFLEET_PYTHON || python,
      ...(process.stdout.isTTY ? {} : { NO_COLOR: "1" }),
      ...(k8sBins.dir ? { PYFLEET_K8S_BIN_DIR: k8sBins.dir } : {}),
    },
  });
  if (step.capture && r.status === 0) {
    step.capture.dir = r.stdout.trim().split("\n").at(-1) ?? "";
    process.stdout.write(`${step.capture.dir}\n`);
  }
  const ok = !r.error && r.status === 0;
  if (r.error) process.stdout.write(`could not run ${step.cmd}: ${r.error.message}\n`);
  if (!r.error && r.status === 0 && step.name === "buf lint") process.stdout.write("buf lint: no findings\n");
  results.push({ name: step.name, ok, seconds: (Date.now() - started) / 1000 });
}

process.stdout.write("\n=== summary ===\n");
for (const r of results) {
  process.stdout.write(`${r.ok ? "pass" : "FAIL"}  ${r.name.padEnd(28)} ${r.seconds.toFixed(1)}s\n`);
}
const failed = results.filter((r) => !r.ok);
process.stdout.write(failed.length ? `\n${failed.length} of ${results.length} steps failed\n` : `\nall ${results.length} steps passed\n`);
process.exit(failed.length ? 1 : 0);
