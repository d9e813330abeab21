// Makes a checkout runnable: installs the npm packages and the project's
// Python virtual environment when they are missing or out of date, and says
// exactly what is wrong when it cannot. Run by `npm start` and `npm test`,
// before any dependency exists, so it uses nothing but Node itself.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const venv = join(root, ".venv");
const venvPython = join(venv, "bin", "python");
const MIN_NODE = 20;
const MIN_PYTHON = [3, 10];

function say(line) {
  process.stderr.write(`[pyfleet] ${line}\n`);
}

function fail(what, fix) {
  say(`error: ${what}`);
  if (fix) say(`fix: ${fix}`);
  process.exit(1);
}

function hashFiles(files) {
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(file);
    hash.update(existsSync(file) ? readFileSync(file) : "missing");
  }
  return hash.digest("hex");
}

function readStamp(file) {
  return existsSync(file) ? readFileSync(file, "utf8").trim() : "";
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
}

function checkNode() {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < MIN_NODE) {
    fail(`Node ${process.versions.node} is too old; pyfleet needs Node ${MIN_NODE} or newer.`,
      "install Node 20+ (https://nodejs.org) and run the command again.");
  }
}

function ensureNpmPackages() {
  const lock = join(root, "package-lock.json");
  const manifests = ["package.json", "sdk-ts/package.json", "protocol/package.json", "server/package.json", "conformance/package.json"]
    .map((f) => join(root, f));
  const stampFile = join(root, "node_modules", ".pyfleet-stamp");
  const wanted = hashFiles([...manifests, lock]);
  if (readStamp(stampFile) === wanted) return;

  // `npm install` rather than `npm ci`: npm 11 leaves other platforms' optional
  // packages (buf's binaries) out of the lock file, which `npm ci` then rejects.
  say("installing npm packages (compiling the SQLite binding takes a few minutes the first time)...");
  const result = run("npm", ["install", "--no-audit", "--no-fund"]);
  if (result.error) fail(`could not run npm: ${result.error.message}`, "make sure npm is on PATH.");
  if (result.status !== 0) {
    fail("npm could not install the packages (see npm's output above).",
      "check that the npm registry is reachable (npm config get registry), and that a C++ toolchain " +
      "(make, g++) and Node's headers are present for better-sqlite3; then run the command again.");
  }
  // Hash again: `npm install` may have written the lock file.
  writeFileSync(stampFile, hashFiles([...manifests, lock]));
}

function pythonVersion(python) {
  const r = spawnSync(python, ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim();
}

function findPython() {
  const candidates = [process.env.PYFLEET_BOOTSTRAP_PYTHON, "python3", "python"].filter(Boolean);
  const seen = [];
  for (const candidate of candidates) {
    const version = pythonVersion(candidate);
    if (!version) continue;
    const [major, minor] = version.split(".").map(Number);
    if (major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1])) {
      return { python: candidate, version };
    }
    seen.push(`${candidate} is ${version}`);
  }
  fail(`no Python ${MIN_PYTHON.join(".")}+ found${seen.length ? ` (${seen.join("; ")})` : " on PATH"}.`,
    "install Python 3.10 or newer, or point PYFLEET_BOOTSTRAP_PYTHON at one.");
}

function ensureVenv() {
  const stampFile = join(venv, ".pyfleet-stamp");
  // The two Python distributions (see python-bridge/README.md), both editable.
  const pyprojects = ["worker", "client"].map((d) => join(root, "python-bridge", d, "pyproject.toml"));
  const venvVersion = existsSync(venvPython) ? pythonVersion(venvPython) : null;
  if (venvVersion && readStamp(stampFile) === hashFiles(pyprojects) + venvVersion) return;

  if (!venvVersion) {
    const { python, version } = findPython();
    if (existsSync(venv)) rmSync(venv, { recursive: true, force: true });
    say(`creating the Python virtual environment .venv with ${python} (${version})...`);
    const made = run(python, ["-m", "venv", venv]);
    if (made.status !== 0) {
      fail(`${python} -m venv failed (see above).`,
        "install the venv module (on Debian/Ubuntu: apt install python3-venv) and run the command again.");
    }
  }
  say("installing the Python packages pyfleet-worker[dial-in] and pyfleet-client[dev] (python-bridge/) into .venv...");
  // A venv made before the split holds the old single distribution, named
  // like the client's import package; it would shadow the new ones.
  run(venvPython, ["-m", "pip", "uninstall", "--quiet", "--yes", "pyfleet"], { stdio: "ignore" });
  const installed = run(venvPython, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check",
    "-e", `${join(root, "python-bridge", "worker")}[dial-in]`, "-e", `${join(root, "python-bridge", "client")}[dev]`]);
  if (installed.status !== 0) {
    fail("pip could not install python-bridge's packages and their dependencies (see pip's output above).",
      "check that PyPI is reachable (or set PIP_INDEX_URL to a mirror), then run the command again.");
  }
  writeFileSync(stampFile, hashFiles(pyprojects) + pythonVersion(venvPython));
}

/**
 * Tests (`--test`) run a real Postgres for the shared compute store: Debian's
 * postgresql server package, installed here with apt-get when it is missing
 * and this runs as root. Otherwise it says what is missing; the Postgres
 * tests then fail with the same words.
 */
function ensurePostgres() {
  const base = "/usr/lib/postgresql";
  const installed = () => existsSync(base) && readdirSync(base).some((v) => existsSync(join(base, v, "bin", "initdb")));
  if (process.env.PYFLEET_PG_BIN || installed()) return;
  const fix = "install Debian's postgresql package (apt-get install postgresql) or set PYFLEET_PG_BIN to a dir with initdb and pg_ctl.";
  if (process.getuid?.() !== 0 || spawnSync("apt-get", ["--version"], { stdio: "ignore" }).status !== 0) {
    say(`warning: no Postgres server (${base}/*/bin/initdb); the Postgres store tests will fail. fix: ${fix}`);
    return;
  }
  say("installing Debian's postgresql (the Postgres store tests run a real server)...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-q"], { env });
  const r = run("apt-get", ["install", "-y", "-q", "--no-install-recommends", "postgresql"], { env });
  if (r.status !== 0 || !installed()) say(`warning: apt-get could not install postgresql (see above); the Postgres store tests will fail. fix: ${fix}`);
}

checkNode();
ensureNpmPackages();
ensureVenv();
if (process.argv.includes("--test")) ensurePostgres();
