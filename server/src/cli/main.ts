#!/usr/bin/env node
import { createServer } from "../server.js";

/** `pyfleet serve`: runs the server until SIGINT or SIGTERM. */
async function serve() {
  const port = Number(process.env.PYFLEET_PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PYFLEET_PORT must be a port number from 0 to 65535 (got "${process.env.PYFLEET_PORT}")`);
    process.exit(2);
  }
  const server = await createServer({ host: process.env.PYFLEET_HOST ?? "127.0.0.1", port });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, `received ${signal}, shutting down`);
    server.close().then(() => process.exit(0), (e) => {
      server.logger.error({ err: e }, "shutdown failed");
      process.exit(1);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

const [command = "serve"] = process.argv.slice(2);
if (command === "serve") {
  serve().catch((e) => {
    console.error(`pyfleet: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
} else {
  console.error(`pyfleet: unknown command "${command}"; try "pyfleet serve"`);
  process.exit(2);
}
