#!/usr/bin/env node
import { fileURLToPath } from "node:url";
import { runTs } from "../../scripts/run-ts.mjs";

runTs(fileURLToPath(new URL("../src/cli/main.ts", import.meta.url)), process.argv.slice(2));
