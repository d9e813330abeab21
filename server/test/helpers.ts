import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { createServer, type PyfleetServer, type ServerConfigInput } from "../src/index.js";

/** Starts a server on a free loopback port and closes it when the test ends. */
export async function startServer(config: ServerConfigInput = {}): Promise<PyfleetServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "pyfleet-data-"));
  const server = await createServer({ port: 0, logLevel: "silent", dataDir, ...config });
  onTestFinished(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return server;
}
