import { z } from "zod";
import { serverConfigSchema } from "./types.js";

/**
 * The JSON Schema of pyfleet.yaml, generated from the zod schema the server
 * validates with (so the two cannot disagree), in the "input" view: every key
 * with a default is optional. Editors (yaml-language-server) complete and
 * validate with it; `server/pyfleet.schema.json` is this, checked by a test.
 */
export function configJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(serverConfigSchema, { io: "input" }) as Record<string, unknown>;
  return {
    $schema,
    title: "pyfleet.yaml",
    description: "Configuration of a pyfleet server (pyfleet serve --config FILE). Reference: docs/configuration.md",
    ...rest,
  };
}

/** The schema as the file ships it: stable, two-space indented, with a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
