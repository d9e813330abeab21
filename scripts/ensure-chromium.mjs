// The browser tests drive Debian's Chromium with playwright-core (no browser
// download: playwright's own CDN is not reachable from CI). `npm test` runs
// this first: it installs the `chromium` package with apt when it is absent
// and apt can (root, Debian/Ubuntu), and otherwise says exactly what to do.
// apt keeps the package in its cache, so a warm machine pays nothing.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const CHROMIUM = process.env.PYFLEET_CHROMIUM ?? "/usr/bin/chromium";

function say(line) {
  process.stderr.write(`[pyfleet] ${line}\n`);
}

export function ensureChromium() {
  if (existsSync(CHROMIUM)) return true;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const apt = spawnSync("sh", ["-c", "command -v apt-get"], { encoding: "utf8" }).status === 0;
  if (!root || !apt) {
    say(`Chromium is missing at ${CHROMIUM} and cannot be installed here (${root ? "no apt-get" : "not root"}); the browser tests will fail.`);
    say("fix: sudo apt-get install -y chromium  (or point PYFLEET_CHROMIUM at a Chromium/Chrome binary)");
    return false;
  }
  say("Chromium is missing: installing Debian's chromium package with apt-get for the browser tests (about a minute, once)...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  let r = spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], { stdio: "inherit", env });
  if (r.status !== 0) {
    spawnSync("apt-get", ["update"], { stdio: "inherit", env });
    r = spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], { stdio: "inherit", env });
  }
  if (r.status !== 0 || !existsSync(CHROMIUM)) {
    say("apt-get could not install chromium (see above); the browser tests will fail.");
    say("fix: check that the Debian mirrors are reachable, then run: apt-get install -y chromium");
    return false;
  }
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(ensureChromium() ? 0 : 1);
