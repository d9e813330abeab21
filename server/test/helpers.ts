import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, onTestFinished } from "vitest";
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

/** What `promise` rejects with, checked to be a `type` (so a promise that resolves fails the test). */
export async function rejection<E>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(type);
  return error as E;
}
