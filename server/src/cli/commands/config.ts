import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { globals, print, run } from "../context.js";
import { EXIT } from "../output.js";

/** `pyfleet config check FILE` and `pyfleet config schema`: no server needed. */
export function configCommands(program: Command): void {
  const config = program.command("config").description("check a config file; print its JSON Schema");

  config
    .command("check <file>")
    .description("check a pyfleet.yaml as `pyfleet serve` would (environment overrides included); every problem names file:line:column and the key")
    .action(run(async (file: string, _o: unknown, cmd: Command) => {
      const opts = globals(cmd);
      const { ConfigError, loadConfig } = await import("../../config/index.js");
      const { resolvePoolConfig } = await import("../../pool/index.js");
      try {
        const resolved = loadConfig(file);
        const summary = {
          ok: true,
          file,
          listen: `${resolved.host}:${resolved.port}`,
          pools: resolved.pools.map((p) => resolvePoolConfig(p)).map((p) => ({ name: p.name, adapter: p.adapter, minSize: p.minSize, maxSize: p.maxSize })),
          providers: resolved.compute.providers.map((p) => ({ name: p.name, kind: p.kind })),
          apiKeys: resolved.auth.apiKeys.length,
        };
        print(opts, summary, () => [
          `${file}: ok`,
          `  listen     ${summary.listen}${summary.apiKeys ? ` (${summary.apiKeys} API key${summary.apiKeys > 1 ? "s" : ""})` : " (no API keys: loopback only)"}`,
          ...summary.pools.map((p) => `  pool       ${p.name}: ${p.adapter} x${p.minSize === p.maxSize ? p.minSize : `${p.minSize}-${p.maxSize} (autoscaling)`}`),
          `  providers  ${summary.providers.map((p) => (p.name === p.kind ? p.name : `${p.name} (${p.kind})`)).join(", ")}`,
        ].join("\n"));
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ ok: false, file, issues: e.issues }, null, 2)}\n`);
        } else {
          process.stderr.write(`${e.message}\n`);
        }
        process.exitCode = EXIT.rejected;
      }
    }));

  config
    .command("schema")
    .description("print the JSON Schema of pyfleet.yaml (for editors; shipped as @pyfleet/server/pyfleet.schema.json)")
    .option("-o, --out <file>", "write it to a file instead")
    .action(run(async (o: { out?: string }) => {
      const { configJsonSchemaText } = await import("../../config/index.js");
      if (o.out) writeFileSync(o.out, configJsonSchemaText());
      else process.stdout.write(configJsonSchemaText());
    }));
}
