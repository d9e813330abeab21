// Runs a TypeScript entry point of this repo with the workspace's source
// condition and tsx, as its own child process, forwarding signals and the
// exit code. The `bin` shims of the packages use it.
import { spawn } from "node:child_process";

export function runTs(entry, args) {
  const child = spawn(process.execPath, ["--conditions=pyfleet-source", "--import", import.meta.resolve("tsx"), entry, ...args], { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
}
