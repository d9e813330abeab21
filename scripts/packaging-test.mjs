// The packaging test (a step of `npm test`): pyfleet as a user installs it,
// with nothing from this repository on any path.
//
// It packs the npm packages (npm pack) and builds the Python wheels and sdists
// (python -m build); in an empty temp dir outside the repo it npm-installs the
// tarballs and pip-installs the wheels into a fresh virtual environment, writes
// a small adapter, runs the installed `pyfleet serve`, calls the adapter's tool
// with the installed TypeScript SDK and Python client, checks `pyfleet
// --version`, runs the installed `pyfleet-conformance server URL` to all-pass,
// and checks that a pool whose Python lacks the worker runtime stops the
// server with the exact pip line. Third-party packages come from the npm and
// PyPI registries (their caches make a warm run fast).
//
// One shortcut, for time: better-sqlite3 would compile from source for
// minutes (its prebuilt download is unreachable here). When the repo's
// node_modules holds the same version, its compiled binary is offered to the
// temp install as a local prebuild (prebuild-install's documented
// npm_config_better_sqlite3_local_prebuilds), exactly what a download would give.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const root = realpathSync(join(dirname(fileURLToPath(import.meta.url)), ".."));
const repoPython = join(root, ".venv", "bin", "python");
const ALICE = "alice-key-0123456789abcdef";
const BOB = "bob-key-0123456789abcdef00";
const started = Date.now();
const keep = process.argv.includes("--keep");

function say(line) {
  process.stdout.write(`[packaging ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
}

function fail(message) {
  throw new Error(message);
}

/** Runs a command to completion; its output is shown only when it fails. */
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 2 ** 20, ...opts });
  if (r.error || r.status !== 0) {
    fail(`${cmd} ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout ?? ""}${r.stderr ?? ""}`);
  }
  return r.stdout;
}

function expectEqual(what, actual, expected) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
  say(`ok: ${what}`);
}

const tmp = realpathSync(mkdtempSync(join(tmpdir(), "pyfleet-packaging-")));
if (tmp.startsWith(`${root}/`)) fail(`the temp dir ${tmp} is inside the repository`);
const dist = join(tmp, "dist");
const app = join(tmp, "app");
const venv = join(tmp, "venv");
mkdirSync(dist);
mkdirSync(app);

// A user's environment: the venv and the system, no repo paths, no npm/pyfleet settings.
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
  !/^(npm_|NODE_OPTIONS$|NODE_PATH$|PYTHONPATH$|PYTHONHOME$|VIRTUAL_ENV$|PYFLEET_|INIT_CWD$)/.test(k)));
userEnv.PATH = [join(venv, "bin"), dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":");
for (const [k, v] of Object.entries(userEnv)) {
  if (k !== "PATH" && typeof v === "string" && v.includes(root)) delete userEnv[k];
}

const children = new Set();
async function main() {
  // 1. Build and pack.
  say("building the npm packages (tsc -b, status page)...");
  run("npm", ["run", "--silent", "build"], { cwd: root });
  for (const dir of ["sdk-ts", "protocol", "server", "conformance", "python-bridge/worker", "python-bridge/client"]) {
    if (!readFileSync(join(root, dir, "LICENSE")).equals(readFileSync(join(root, "LICENSE")))) fail(`${dir}/LICENSE differs from the root LICENSE`);
  }
  const packed = JSON.parse(run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dist, "-w", "sdk-ts", "-w", "protocol", "-w", "server", "-w", "conformance"], { cwd: root }));
  for (const p of packed) {
    const files = p.files.map((f) => f.path);
    const stray = files.filter((f) => !/^(dist\/|bin\/|suites\/|LICENSE$|README\.md$|package\.json$|pyfleet\.schema\.json$)/.test(f));
    if (stray.length) fail(`${p.name} packs files it should not: ${stray.join(", ")}`);
    if (!files.includes("LICENSE")) fail(`${p.name} has no LICENSE`);
    if (files.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))) fail(`${p.name} ships TypeScript sources`);
  }
  say(`packed ${packed.map((p) => `${p.name} (${Math.round(p.size / 1024)} kB)`).join(", ")}`);
  say("building the Python wheels and sdists (python -m build)...");
  for (const dir of ["worker", "client"]) {
    run(repoPython, ["-m", "build", "--no-isolation", "--outdir", dist, join(root, "python-bridge", dir)], { cwd: tmp });
  }
  const built = readdirSync(dist);
  const wheel = (name) => built.find((f) => f.startsWith(`${name}-`) && f.endsWith(".whl")) ?? fail(`no ${name} wheel in ${built.join(", ")}`);
  for (const name of ["pyfleet_worker", "pyfleet_client"]) {
    if (!built.some((f) => f.startsWith(`${name}-`) && f.endsWith(".tar.gz"))) fail(`no ${name} sdist in ${built.join(", ")}`);
  }
  const wheelFiles = (w) => run(repoPython, ["-c", "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))", join(dist, w)]).trim().split("\n");
  const workerFiles = wheelFiles(wheel("pyfleet_worker"));
  const clientFiles = wheelFiles(wheel("pyfleet_client"));
  for (const [files, want] of [[workerFiles, ["pyfleet_bridge/py.typed", "pyfleet_bridge/_proto/worker/v1/worker_pb2.py"]], [clientFiles, ["pyfleet/py.typed", "pyfleet/pool/v1/pool_pb2.py"]]]) {
    for (const f of want) if (!files.includes(f)) fail(`a wheel lacks ${f}`);
  }
  if (workerFiles.some((f) => f.startsWith("pyfleet/")) || clientFiles.some((f) => f.startsWith("pyfleet_bridge/"))) fail("the wheels overlap");
  say(`built ${built.join(", ")}`);

  // 2. Install, as a user would, in the temp dir.
  writeFileSync(join(app, "package.json"), `${JSON.stringify({ name: "pyfleet-packaging-check", private: true, type: "module" }, null, 2)}\n`);
  const env = { ...userEnv };
  const sqlite = join(root, "node_modules", "better-sqlite3");
  if (existsSync(join(sqlite, "build", "Release", "better_sqlite3.node"))) {
    const version = JSON.parse(readFileSync(join(sqlite, "package.json"), "utf8")).version;
    const prebuilds = join(tmp, "prebuilds");
    mkdirSync(prebuilds);
    run("tar", ["-czf", join(prebuilds, `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`), "-C", sqlite, "build/Release/better_sqlite3.node"]);
    env.npm_config_better_sqlite3_local_prebuilds = prebuilds;
  }
  say("npm install of the tarballs...");
  run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...packed.map((p) => join(dist, p.filename))], { cwd: app, env });
  say("pip install of the wheels into a fresh venv...");
  const basePython = run(repoPython, ["-c", "import sys; print(sys._base_executable)"]).trim();
  run(basePython, ["-m", "venv", venv]);
  const python = join(venv, "bin", "python");
  run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", join(dist, wheel("pyfleet_worker")), join(dist, wheel("pyfleet_client"))], { env: userEnv });

  // Nothing resolves into the repo.
  const where = JSON.parse(run(python, ["-c", "import json, sys, pyfleet, pyfleet_bridge, pyfleet_bridge.worker; print(json.dumps([pyfleet.__file__, pyfleet_bridge.__file__, 'grpc' in sys.modules]))"], { cwd: app, env: userEnv }));
  const serverMain = realpathSync(join(app, "node_modules", "@pyfleet", "server", "dist", "cli", "main.js"));
  for (const path of [...where.slice(0, 2), serverMain, realpathSync(join(app, "node_modules", ".bin", "pyfleet"))]) {
    if (!path.startsWith(`${tmp}/`)) fail(`${path} is outside the temp dir`);
  }
  expectEqual("the worker runtime and its link load without grpc", where[2], false);

  // 3. An adapter of the user's own.
  mkdirSync(join(app, "adapters"));
  writeFileSync(join(app, "adapters", "greeting.py"), [
    "from pyfleet_bridge import Adapter, tool",
    "",
    "",
    "class Greeter(Adapter):",
    "    @tool(idempotent=True)",
    "    def greet(self, name: str, punctuation: str = \"!\") -> str:",
    "        \"\"\"Greets someone.\"\"\"",
    "        return f\"hello {name}{punctuation}\"",
    "",
  ].join("\n"));
  writeFileSync(join(app, "pyfleet.yaml"), [
    "host: 127.0.0.1",
    "port: 0",
    "dataDir: ./data",
    "auth:",
    `  apiKeys: [{ name: alice, key: ${ALICE} }, { name: bob, key: ${BOB} }]`,
    "compute: { pollIntervalMs: 50, idleSweepMs: 50 }",
    "pools:",
    "  - name: default",
    "  - name: single",
    "    size: 1",
    "  - name: greeting",
    "    adapter: greeting:Greeter",
    "    size: 1",
    "    cwd: ./adapters",
    "",
  ].join("\n"));

  // 4. The installed server (its pools' Python: python3 on PATH, the venv's).
  say("starting the installed `pyfleet serve`...");
  const pyfleet = join(app, "node_modules", ".bin", "pyfleet");
  const url = await serveAndWait(pyfleet, ["serve", "--config", "pyfleet.yaml"], env);
  say(`serving at ${url}`);

  writeFileSync(join(app, "call.mjs"), [
    'import { createClient } from "@pyfleet/sdk/node";',
    "const client = createClient({ baseUrl: process.argv[2], apiKey: process.argv[3] });",
    'const r = await client.poolNamed("greeting").call("greet", { name: "typescript" });',
    "process.stdout.write(JSON.stringify(r.value));",
    "client.close();",
    "",
  ].join("\n"));
  expectEqual("the installed TypeScript SDK calls the adapter's tool", JSON.parse(run(process.execPath, ["call.mjs", url, ALICE], { cwd: app, env })), "hello typescript!");

  writeFileSync(join(app, "call.py"), [
    "import json, sys",
    "from pyfleet import Client",
    "with Client(sys.argv[1], api_key=sys.argv[2]) as client:",
    "    print(json.dumps(client.execute('greet', {'name': 'python', 'punctuation': '?'}, pool='greeting')))",
    "",
  ].join("\n"));
  expectEqual("the installed Python client calls the adapter's tool", JSON.parse(run(python, ["call.py", url, ALICE], { cwd: app, env: userEnv })), "hello python?");

  const versions = run(pyfleet, ["--url", url, "--api-key", ALICE, "--version"], { cwd: app, env }).trim().split("\n");
  const version = JSON.parse(readFileSync(join(root, "server", "package.json"), "utf8")).version;
  expectEqual("`pyfleet --version` prints the CLI's and the server's", [versions[0]?.startsWith(`pyfleet ${version} (CLI`), versions[1]], [true, `server ${version} at ${url}`]);

  say("running the installed `pyfleet-conformance server`...");
  const conformance = spawnSync(join(app, "node_modules", ".bin", "pyfleet-conformance"),
    ["server", url, "--api-key", ALICE, "--other-api-key", BOB, "--parallel", "4", "--report", "json", "--report-file", join(tmp, "conformance.json")],
    { cwd: app, env, encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
  const report = existsSync(join(tmp, "conformance.json")) ? JSON.parse(readFileSync(join(tmp, "conformance.json"), "utf8")) : undefined;
  if (conformance.status !== 0 || !report) fail(`pyfleet-conformance exited ${conformance.status}:\n${conformance.stdout}${conformance.stderr}`);
  const verdicts = {};
  for (const r of report.cases) verdicts[r.verdict] = (verdicts[r.verdict] ?? 0) + 1;
  if ((verdicts.passed ?? 0) < 200 || Object.keys(verdicts).some((v) => v !== "passed")) fail(`conformance verdicts: ${JSON.stringify(verdicts)}`);
  say(`ok: the installed conformance runner: ${verdicts.passed} cases passed, none failed or skipped`);
  await stopChildren();

  // 5. A pool whose Python lacks the worker runtime: the server refuses to start and says what to install.
  const bare = spawnSync(pyfleet, ["serve", "--config", "pyfleet.yaml"], { cwd: app, env: { ...env, PYFLEET_PYTHON: basePython }, encoding: "utf8", timeout: 60_000 });
  const pipLine = `${basePython} -m pip install 'pyfleet-worker==${version}'`;
  expectEqual("a Python without the worker runtime stops the server with the pip line", [bare.status, bare.stderr.includes(pipLine)], [1, true]);
}

/** Starts the server and resolves with its URL from its JSON log line. */
function serveAndWait(cmd, args, env) {
  const child = spawn(cmd, args, { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let output = "";
  child.stderr.on("data", (d) => { output += d; });
  return new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not get ready in 120 s:\n${output}`)), 120_000);
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`the server exited with ${code}:\n${output}`)); });
    let url = "";
    createInterface({ input: child.stdout }).on("line", (line) => {
      output += `${line}\n`;
      let record;
      try { record = JSON.parse(line); } catch { return; }
      if (record.url) url = record.url;
      if (record.ready === true && url) { clearTimeout(timer); resolveUrl(url); }
      if (record.ready === false) { clearTimeout(timer); reject(new Error(`a pool failed to start:\n${output}`)); }
    });
  });
}

async function stopChildren() {
  await Promise.all([...children].map((child) => new Promise((done) => {
    if (child.exitCode !== null) return done();
    child.once("exit", done);
    child.kill("SIGTERM");
  })));
  children.clear();
}

try {
  await main();
  say(`passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
} catch (e) {
  process.stdout.write(`packaging test FAILED: ${e.message}\n`);
  process.exitCode = 1;
} finally {
  await stopChildren();
  if (keep) say(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}
