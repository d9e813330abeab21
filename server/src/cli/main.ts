#!/usr/bin/env node
import { Command } from "commander";
import { PyfleetError } from "../errors.js";
import { serve } from "./serve.js";

const program = new Command("pyfleet")
  .description("pyfleet: Python tools and GPU machines behind one Connect/gRPC API")
  .showHelpAfterError();

program
  .command("serve")
  .description("run the server (embedded defaults: pool \"default\" with the sample tools)")
  .option("-c, --config <file>", "YAML config file (default: $PYFLEET_CONFIG)")
  .option("-p, --port <port>", "port to listen on (default: $PYFLEET_PORT or 8080)")
  .option("--host <host>", "address to bind (default: $PYFLEET_HOST or 127.0.0.1)")
  .action(serve);

program.parseAsync().catch((e: unknown) => {
  const message = e instanceof Error ? e.message : String(e);
  console.error(`pyfleet: ${message}`);
  process.exit(e instanceof PyfleetError && e.code === "invalid_argument" ? 2 : 1);
});
