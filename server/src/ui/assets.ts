import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** A package build puts the compiled page script next to this module. */
const BUILT = fileURLToPath(new URL("./app.js", import.meta.url));
/** In a checkout, the page's TypeScript source. */
const SOURCE = fileURLToPath(new URL("../../ui/main.ts", import.meta.url));

let script: Promise<string> | undefined;

/**
 * The status page's script: the compiled file when a build shipped one, else
 * bundled from source with esbuild (a devDependency) on first request.
 */
export function uiScript(): Promise<string> {
  script ??= load();
  script.catch(() => {
    script = undefined;
  });
  return script;
}

async function load(): Promise<string> {
  if (existsSync(BUILT)) return readFile(BUILT, "utf8");
  if (!existsSync(SOURCE)) throw new Error(`the status page script is missing: neither ${BUILT} nor ${SOURCE} exists`);
  return bundleUi(SOURCE);
}

/** Bundles the page for browsers; scripts/build-ui.mjs uses the same options for packages. */
async function bundleUi(entry: string): Promise<string> {
  const { build } = await import("esbuild");
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["pyfleet-source"],
    write: false,
    logLevel: "silent",
    legalComments: "none",
  });
  return out.outputFiles[0]!.text;
}
