// Compiles the status page (server/ui/main.ts) into one minified script for a
// package build: `node scripts/build-ui.mjs OUT_DIR` writes OUT_DIR/app.js,
// which the server serves when it sits next to its compiled ui/assets.js
// (e.g. server/dist/ui/app.js). From a checkout the server bundles the page
// on its first request instead, so nothing needs building to develop.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = process.argv[2] ?? join(root, "server", "dist", "ui");
const out = await build({
  entryPoints: [join(root, "server", "ui", "main.ts")],
  bundle: true,
  minify: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  conditions: ["pyfleet-source"],
  write: false,
  logLevel: "warning",
  legalComments: "none",
});
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "app.js"), out.outputFiles[0].text);
process.stdout.write(`wrote ${join(outDir, "app.js")} (${out.outputFiles[0].text.length} bytes)\n`);
