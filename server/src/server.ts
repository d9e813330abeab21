import { readFileSync } from "node:fs";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { resolveConfig, type ServerConfig } from "./config/index.js";
import { HealthRegistry } from "./health/index.js";
import { listen, type RequestHandler } from "./http/listener.js";
import { createLogger, type Logger } from "./log/index.js";
import { routes, servedServices } from "./rpc/index.js";

export interface PyfleetServer {
  /** The base URL, e.g. "http://127.0.0.1:8080". */
  readonly url: string;
  readonly port: number;
  readonly config: ServerConfig;
  readonly health: HealthRegistry;
  readonly logger: Logger;
  /** Stops accepting, lets in-flight calls finish (up to the grace period), stops everything. */
  close(): Promise<void>;
}

export interface CreateServerOptions {
  /** Where log lines go; default stdout. */
  logDestination?: NodeJS.WritableStream;
}

/** Builds the whole server from its configuration and starts listening. */
export async function createServer(
  partial: Partial<ServerConfig> = {},
  options: CreateServerOptions = {},
): Promise<PyfleetServer> {
  const config = resolveConfig(partial);
  const logger = createLogger(config.logLevel, options.logDestination);
  const health = new HealthRegistry();
  const shutdown = new AbortController();

  const connect = connectNodeAdapter({
    routes: routes({ health }),
    readMaxBytes: config.maxMessageBytes,
    shutdownSignal: shutdown.signal,
  });
  const handler: RequestHandler = (req, res) => connect(req as never, res as never);

  const listener = await listen({
    host: config.host,
    port: config.port,
    handler,
    idleTimeoutMs: config.idleTimeoutMs,
    tls: config.tls && { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) },
  });

  health.set("", "SERVING");
  for (const service of servedServices) health.set(service.typeName, "SERVING");
  logger.info({ url: listener.url }, `pyfleet listening on ${listener.url}`);

  let closing: Promise<void> | undefined;
  return {
    url: listener.url,
    port: listener.port,
    config,
    health,
    logger,
    close() {
      closing ??= (async () => {
        health.setAll("NOT_SERVING");
        await listener.close(config.shutdownGraceMs);
        shutdown.abort();
        logger.info("pyfleet stopped");
      })();
      return closing;
    },
  };
}
