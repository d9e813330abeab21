import { existsSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { type Browser, chromium } from "playwright-core";
import { onTestFinished } from "vitest";

const CHROMIUM = process.env.PYFLEET_CHROMIUM ?? "/usr/bin/chromium";

/** Headless Debian Chromium, closed when the test ends. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: run \`node scripts/ensure-chromium.mjs\` (apt-get install chromium), or set PYFLEET_CHROMIUM`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  onTestFinished(() => browser.close());
  return browser;
}

/** Bundles a browser entry point (workspace packages from their TypeScript sources). */
export async function bundle(entry: string): Promise<string> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["pyfleet-source"],
    write: false,
    logLevel: "silent",
  });
  return out.outputFiles[0]!.text;
}

/** A static site on its own origin: `/` is a page that loads `/app.js`. */
export async function servePage(script: string): Promise<{ origin: string }> {
  const server = http.createServer((req, res) => {
    if (req.url === "/app.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(script);
      return;
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end('<!doctype html><html><head><meta charset="utf-8"><script type="module" src="/app.js"></script></head><body></body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
