#!/usr/bin/env node
import { Command, Option } from "commander";
import type { ProviderServeOptions } from "./provider-serve.js";
import type { ServeOptions } from "./serve.js";
import { computeCommands } from "./commands/compute.js";
import { configCommands } from "./commands/config.js";
import { logsCommands } from "./commands/logs.js";
import { poolCommands } from "./commands/pool.js";
import { setupCommands } from "./commands/setup.js";
import { isPyfleetError } from "./output.js";
import type { VersionOptions } from "./version.js";

// Keep this module's static imports light: `pyfleet --version` and `--help`
// load commander and the command tables only; each command loads what it
// needs (the SDK, the server) when it runs.

const program = new Command("pyfleet")
  .description("pyfleet: Python tools and GPU machines behind one Connect/gRPC API")
  .option("--url <url>", "the server (default: $PYFLEET_URL or http://127.0.0.1:8080)", process.env.PYFLEET_URL ?? "http://127.0.0.1:8080")
  .option("--api-key <key>", "API key (default: $PYFLEET_API_KEY)", process.env.PYFLEET_API_KEY)
  .addOption(new Option("--protocol <protocol>", "wire protocol").choices(["connect", "grpc", "grpc-web"]).default("connect"))
  .option("--json", "machine-readable JSON output")
  .option("-V, --version", "print this CLI's version and the version of the server at --url")
  .showHelpAfterError();

program
  .command("serve")
  .description("run the server (embedded defaults: pool \"default\" with the sample tools)")
  .option("-c, --config <file>", "YAML config file (default: $PYFLEET_CONFIG)")
  .option("-p, --port <port>", "port to listen on (default: $PYFLEET_PORT or 8080)")
  .option("--host <host>", "address to bind (default: $PYFLEET_HOST or 127.0.0.1)")
  .option("--processes <n>", "serve from N processes on the one port, each a replica with its share of every pool's workers; \"auto\" = one per core (default: 1)")
  // Loaded on demand: client commands should not pay for the whole server.
  .action(async (options) => (await import("./serve.js")).serve(options as ServeOptions));

program
  .command("provider")
  .description("built-in providers as standalone ProviderService endpoints")
  .command("serve <kind>")
  .description("serve the mock, local, runpod or kubernetes provider (RunPod needs RUNPOD_API_KEY), e.g. to certify it with pyfleet-conformance")
  .option("-p, --port <port>", "port to listen on (default: any free port)")
  .option("-c, --config <file>", "a pyfleet.yaml: the provider's settings are its first compute.providers entry of that kind")
  .option("--host <host>", "address to bind", "127.0.0.1")
  .action(async (kind: string, options) => (await import("./provider-serve.js")).serveProviderCommand(kind, options as ProviderServeOptions));

poolCommands(program);
computeCommands(program);
logsCommands(program);
setupCommands(program);
configCommands(program);

/** `pyfleet [global options] --version`, with no command: the CLI's version and the server's. */
async function versionRequested(): Promise<boolean> {
  const { operands } = program.parseOptions(process.argv.slice(2));
  const options = program.opts<VersionOptions & { version?: boolean }>();
  if (!options.version || operands.length > 0) return false;
  await (await import("./version.js")).printVersions(options);
  return true;
}

const isServe = process.argv[2] === "serve" || (process.argv[2] === "provider" && process.argv[3] === "serve");
versionRequested().then((done) => (done ? undefined : program.parseAsync())).then(
  // A client command is done: exit now rather than wait for idle connections to time out.
  () => {
    if (!isServe) process.exit(process.exitCode ?? 0);
  },
  (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    console.error(`pyfleet: ${message}`);
    process.exit(isPyfleetError(e) && e.code === "invalid_argument" ? 2 : 1);
  },
);
