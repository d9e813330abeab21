import { onTestFinished } from "vitest";
import { createServer, type PyfleetServer, type ServerConfigInput } from "../src/index.js";

/** Starts a server on a free loopback port and closes it when the test ends. */
export async function startServer(config: ServerConfigInput = {}): Promise<PyfleetServer> {
  const server = await createServer({ port: 0, logLevel: "silent", ...config });
  onTestFinished(() => server.close());
  return server;
}
