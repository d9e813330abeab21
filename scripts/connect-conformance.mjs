// connectrpc/conformance's server suite (unary cases) against pyfleet's unary
// front: `node scripts/connect-conformance.mjs [runner flags...]`.
//
// Installs the runner with `go install connectrpc.com/conformance/cmd/connectconformance@VERSION`
// into a cache directory keyed by the version (the Go module proxy is the only
// network it needs; an older or missing local Go fetches its toolchain from the
// proxy too, via GOTOOLCHAIN), builds the suite's .proto files from the
// module's own source into a descriptor set with buf, then runs the runner in
// server mode against server/test/connect-conformance/server.ts.
// Cold: about a minute of downloads and Go builds; warm: only the run.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const VERSION = "v1.0.7";
const GO_VERSION = "go1.26.8";
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cache = join(process.env.PYFLEET_CACHE ?? join(homedir(), ".cache", "pyfleet"), `connectconformance-${VERSION}`);
const bin = join(cache, "bin", "connectconformance");
const gopath = join(cache, "gopath");

function say(line) {
  process.stderr.write(`[connect-conformance] ${line}\n`);
}

function fail(what, fix) {
  say(`error: ${what}`);
  say(`fix: ${fix}`);
  process.exit(2);
}

function goEnv() {
  return { ...process.env, GOPATH: gopath, GOMODCACHE: join(gopath, "pkg", "mod"), GOBIN: join(cache, "bin"), GOFLAGS: "-mod=mod", GOTOOLCHAIN: `${GO_VERSION}+auto`, CGO_ENABLED: "0" };
}

/** The runner binary and the directory of the suite's .proto files, installing both once. */
export function ensureRunner() {
  const moduleProtos = (modcache) => join(modcache, `connectrpc.com/conformance@${VERSION}`, "proto");
  // The module's source holds the protos: in this cache, or in the machine's own Go module cache.
  const found = () => [moduleProtos(join(gopath, "pkg", "mod")), moduleProtos(spawnSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).stdout?.trim() ?? "")]
    .find((dir) => existsSync(dir));
  let protoDir = found();
  if (existsSync(bin) && protoDir) return { bin, protoDir };
  const go = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8" });
  if (go.error || go.status !== 0) {
    fail("Go is not installed, and the connectrpc/conformance runner is built with `go install`.",
      "install Go 1.21 or newer (https://go.dev/dl, or `apt-get install golang-go` where it is 1.21+), then rerun; the runner is cached in " + cache);
  }
  mkdirSync(cache, { recursive: true });
  say(`installing connectconformance ${VERSION} into ${cache} (once; about a minute)...`);
  const r = spawnSync("go", ["install", `connectrpc.com/conformance/cmd/connectconformance@${VERSION}`], { stdio: "inherit", env: goEnv() });
  if (r.status !== 0 || !existsSync(bin)) {
    fail(`go install connectrpc.com/conformance/cmd/connectconformance@${VERSION} failed (see above).`,
      "check that the Go module proxy is reachable (go env GOPROXY) and that this Go can fetch newer toolchains (Go 1.21+), then rerun.");
  }
  protoDir = found();
  if (!protoDir) fail(`the module source of connectrpc.com/conformance@${VERSION} has no proto/ directory.`, `remove ${cache} and rerun.`);
  return { bin, protoDir };
}

/** The suite's protos as one descriptor set (buf build), cached beside the runner. */
export function ensureDescriptors(protoDir) {
  const out = join(cache, "conformance.binpb");
  if (existsSync(out)) return out;
  const buf = join(root, "node_modules", ".bin", "buf");
  const r = spawnSync(buf, ["build", protoDir, "-o", out], { stdio: "inherit", cwd: root });
  if (r.status !== 0) fail(`buf build ${protoDir} failed (see above).`, "run `node scripts/bootstrap.mjs` so that buf is installed, then rerun.");
  return out;
}

/**
 * The test server as one plain JavaScript file: the runner gives a server 10 s
 * to report its port, and compiling TypeScript at start-up can take longer
 * than that on a busy machine.
 */
async function bundleServer(here) {
  const { build } = await import("esbuild");
  const dir = mkdtempSync(join(tmpdir(), "pyfleet-connect-conformance-"));
  const outfile = join(dir, "server.mjs");
  await build({
    entryPoints: [join(here, "server.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["pyfleet-source"],
    outfile,
    logLevel: "warning",
    // Bundled CommonJS dependencies still call require().
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  return { outfile, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { bin: runner, protoDir } = ensureRunner();
  const descriptors = ensureDescriptors(protoDir);
  const here = join(root, "server", "test", "connect-conformance");
  const server = await bundleServer(here);
  const r = spawnSync(runner, [
    "--mode", "server",
    "--conf", join(here, "config.yaml"),
    "--known-failing", `@${join(here, "known-failing.txt")}`,
    ...process.argv.slice(2),
    "--", process.execPath, server.outfile, descriptors,
  ], { stdio: "inherit", cwd: root });
  server.cleanup();
  process.exit(r.status ?? 1);
}
