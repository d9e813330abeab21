import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources in the repo.
const conditions = ["pyfleet-source", "import", "module", "node", "default"];
// Vitest hands the SSR conditions to Node as --conditions, for require() too:
// "import" there makes CommonJS packages with an ESM export (pg -> pg-pool)
// require() the ESM file. Node adds "import" or "require" itself.
const nodeConditions = ["pyfleet-source", "node", "default"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions: nodeConditions, externalConditions: ["pyfleet-source"] } },
  test: {
    // Pools that name no Python use the checkout's .venv (an installed server uses python3 on PATH).
    env: { PYFLEET_PYTHON: process.env.PYFLEET_PYTHON || fileURLToPath(new URL(".venv/bin/python", import.meta.url)) },
    include: ["server/test/**/*.test.ts", "sdk-ts/test/**/*.test.ts", "conformance/test/**/*.test.ts", "bench/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests start real Python processes; two cores are shared by at most two files at once.
    maxWorkers: 2,
    pool: "forks",
  },
});
