import { loadConfig } from "../config/index.js";
import { PyfleetError } from "../errors.js";
import { createLogger } from "../log/index.js";
import { createServer } from "../server.js";
import { checkPoolPythons } from "./preflight.js";
import { clusterProcess, type ListeningMessage, parseProcesses, processConfig, runPrimary } from "./processes.js";

export interface ServeOptions {
  config?: string;
  port?: string;
  host?: string;
  /** A count, or "auto" (one per core). */
  processes?: string;
}

/** `pyfleet serve`: runs the server until SIGINT or SIGTERM, then drains and exits 0. */
export async function serve(options: ServeOptions): Promise<void> {
  const overrides: Record<string, unknown> = {};
  if (options.port !== undefined) {
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new PyfleetError("invalid_argument", `--port must be a port number from 0 to 65535 (got "${options.port}")`);
    overrides.port = port;
  }
  if (options.host !== undefined) overrides.host = options.host;
  const config = loadConfig(options.config ?? process.env.PYFLEET_CONFIG, process.env, overrides);
  const member = clusterProcess();
  const processes = parseProcesses(options.processes);
  if (!member) await checkPoolPythons(config, process.env);
  if (!member && processes !== undefined && processes > 1) {
    runPrimary(processes, createLogger(config.logLevel));
    return;
  }
  const server = member
    ? await createServer(processConfig(config, member.index, member.count), { process: member })
    : await createServer(config);
  if (member) process.send?.({ pyfleet: "listening", url: server.url, replica: server.fleet.id } satisfies ListeningMessage);
  server.ready().then(
    () => server.logger.info({ ready: true, pools: server.pools.list().map((p) => p.name) }, "all pools are ready"),
    (e: unknown) => server.logger.error({ ready: false }, `a pool failed to start: ${(e as Error).message}`),
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, `received ${signal}: draining calls, then stopping workers`);
    server.close().then(() => process.exit(0), (e: unknown) => {
      server.logger.error({ err: e }, "shutdown failed");
      process.exit(1);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}
