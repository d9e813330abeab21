import type { Command } from "commander";
import { globals, print, run, UsageError } from "../context.js";
import { EXIT } from "../output.js";

/** `pyfleet doctor` and `pyfleet init`: set-up commands that need no running server. */
export function setupCommands(program: Command): void {
  program
    .command("doctor")
    .description("check what `pyfleet serve` needs (Node, each pool's Python, runtime and adapter import incl. fork safety, data dir, store, providers, port) and say what to fix; exit 1 when something fails")
    .option("-c, --config <file>", "YAML config file (default: $PYFLEET_CONFIG)")
    .option("-p, --port <port>", "the port serve would use")
    .option("--host <host>", "the address serve would bind")
    .action(run(async (o: { config?: string; port?: string; host?: string }, cmd: Command) => {
      const opts = globals(cmd);
      const overrides: Record<string, unknown> = {};
      if (o.port !== undefined) {
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port must be a port number from 0 to 65535 (got "${o.port}")`);
        overrides.port = port;
      }
      if (o.host !== undefined) overrides.host = o.host;
      const { runDoctor } = await import("../../doctor/index.js");
      const checks = await runDoctor({ configFile: (o.config ?? process.env.PYFLEET_CONFIG) || undefined, overrides });
      const failed = checks.filter((c) => c.status === "fail").length;
      const warned = checks.filter((c) => c.status === "warn").length;
      const indent = (text: string) => text.split("\n").join("\n        ");
      print(opts, { ok: failed === 0, checks }, () => [
        ...checks.flatMap((c) => [
          `${c.status === "ok" ? "ok  " : c.status === "warn" ? "WARN" : "FAIL"}    ${c.name}: ${indent(c.detail)}`,
          ...(c.status !== "ok" && c.fix ? [`        fix: ${c.fix}`] : []),
        ]),
        "",
        failed ? `${failed} of ${checks.length} checks failed${warned ? `, ${warned} warned` : ""}` : `all ${checks.length} checks passed${warned ? ` (${warned} warned)` : ""}`,
      ].join("\n"));
      if (failed) process.exitCode = EXIT.failed;
    }));

  program
    .command("init [dir]")
    .description("scaffold a project: an adapter module with tools, a pytest for it, and a pyfleet.yaml, ready for `pyfleet serve`")
    .option("--force", "overwrite files that exist")
    .action(run(async (dir: string | undefined, o: { force?: boolean }, cmd: Command) => {
      const opts = globals(cmd);
      const { init, InitError, nextSteps } = await import("../init.js");
      try {
        const made = init(dir, o);
        print(opts, made, () => nextSteps(dir));
      } catch (e) {
        if (e instanceof InitError) throw new UsageError(e.message);
        throw e;
      }
    }));
}
