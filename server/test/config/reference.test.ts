import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { configJsonSchemaText } from "../../src/config/index.js";

// docs/configuration.md against the config schema (the zod schema's JSON
// Schema) and the environment variables the code reads: a setting or a
// variable cannot be added, renamed or dropped without its row.

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const DOC = readFileSync(join(ROOT, "docs/configuration.md"), "utf8");

interface Node {
  properties?: Record<string, Node>;
  items?: Node;
  anyOf?: Node[];
  oneOf?: Node[];
  additionalProperties?: Node | boolean;
  const?: unknown;
  description?: string;
  $ref?: string;
}

const schema = JSON.parse(configJsonSchemaText()) as Node;

/** Every key under `node`, dotted from `prefix`: parents and leaves. */
function keys(node: Node, prefix: string): { all: string[]; leaves: string[] } {
  const all: string[] = [];
  const leaves: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = `${prefix}${key}`;
    all.push(path);
    if (child.properties) {
      const below = keys(child, `${path}.`);
      all.push(...below.all);
      leaves.push(...below.leaves);
    } else {
      const variant = (child.anyOf ?? child.oneOf ?? []).find((v) => v.properties);
      if (variant) {
        const below = keys(variant, `${path}.`);
        all.push(...below.all);
        leaves.push(...below.leaves);
      } else {
        leaves.push(path);
      }
    }
  }
  return { all, leaves };
}

/** The first-column keys of the tables under `heading`, up to the next heading. */
function documented(heading: string): string[] {
  const start = DOC.indexOf(`\n${heading}\n`);
  expect(start, `docs/configuration.md has no "${heading}"`).toBeGreaterThan(-1);
  const rest = DOC.slice(start + heading.length + 2);
  const end = rest.search(/\n#+ /);
  const section = end === -1 ? rest : rest.slice(0, end);
  return section.split("\n").filter((l) => l.startsWith("| `")).flatMap((l) => [...l.split("|")[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
}

function expectDocumented(heading: string, node: Node, prefix = "") {
  const { all, leaves } = keys(node, prefix);
  const rows = documented(heading);
  expect(leaves.filter((k) => !rows.includes(k) && !rows.some((r) => k.startsWith(`${r}.`))), `settings missing from "${heading}"`).toEqual([]);
  expect(rows.filter((r) => !all.includes(r)), `rows in "${heading}" that are no setting`).toEqual([]);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name === "_proto" || name === "__pycache__" || name.endsWith("_pb2.py")) return [];
    return statSync(path).isDirectory() ? sourceFiles(path) : /\.(ts|mjs|py|sh)$/.test(name) ? [path] : [];
  });
}

/** Every key of the schema (dotted, `[]` for array items, `<name>` for map values) without a description. */
function undescribed(node: Node, path: string, defs: Record<string, Node>, out: string[] = []): string[] {
  const resolved = node.$ref ? defs[node.$ref.replace(/^#\/\$defs\//, "")] ?? {} : node;
  for (const [key, child] of Object.entries(resolved.properties ?? {})) {
    const here = path ? `${path}.${key}` : key;
    if (!child.description?.trim()) out.push(here);
    undescribed(child, here, defs, out);
  }
  if (resolved.items) undescribed(resolved.items, `${path}[]`, defs, out);
  if (typeof resolved.additionalProperties === "object") undescribed(resolved.additionalProperties, `${path}.<name>`, defs, out);
  for (const variant of [...(resolved.anyOf ?? []), ...(resolved.oneOf ?? [])]) undescribed(variant, path, defs, out);
  return out;
}

describe("pyfleet.schema.json", () => {
  it("describes every key, so editors show help for it", () => {
    const defs = (schema as { $defs?: Record<string, Node> }).$defs ?? {};
    const count = countKeys(schema);
    expect(count).toBeGreaterThan(120);
    expect(undescribed(schema, "", defs), "keys without .describe() in the zod schema").toEqual([]);
  });
});

/** How many keys the schema has (the test above must look at them all). */
function countKeys(node: Node): number {
  let n = Object.keys(node.properties ?? {}).length;
  for (const child of Object.values(node.properties ?? {})) n += countKeys(child);
  if (node.items) n += countKeys(node.items);
  if (typeof node.additionalProperties === "object") n += countKeys(node.additionalProperties);
  for (const v of [...(node.anyOf ?? []), ...(node.oneOf ?? [])]) n += countKeys(v);
  return n;
}

describe("docs/configuration.md", () => {
  it("has a row for every server, pool and compute setting, and none for a setting that does not exist", () => {
    const { pools, compute, ...server } = schema.properties!;
    expectDocumented("## Server settings", { properties: server });
    expectDocumented("## Pool settings", pools!.items!);
    const { providers, ...computeRest } = compute!.properties!;
    expectDocumented("## Compute settings", { properties: { providers: {}, ...computeRest } }, "compute.");
    const kinds = (providers!.items!.anyOf ?? providers!.items!.oneOf)!;
    expect(kinds.length).toBeGreaterThanOrEqual(4);
    for (const kind of kinds) {
      const { kind: tag, ...rest } = kind.properties!;
      expectDocumented(`### Provider \`kind: ${String(tag!.const)}\``, { properties: rest });
    }
  });

  it("lists every environment variable the code reads or sets, and none it does not", () => {
    const code = ["server/src", "sdk-ts/src", "conformance/src", "python-bridge/worker/src", "python-bridge/client/src", "scripts"]
      .flatMap((d) => sourceFiles(join(ROOT, d)))
      .map((f) => readFileSync(f, "utf8"))
      .join("\n");
    const inCode = new Set(code.match(/\b(PYFLEET_[A-Z0-9_]*[A-Z0-9]|RUNPOD_API_KEY)\b/g));
    const inDocs = new Set([...DOC.matchAll(/^\| `([A-Z][A-Z0-9_]+)`(?:, `([A-Z][A-Z0-9_]+)`)?/gm)].flatMap((m) => [m[1]!, ...(m[2] ? [m[2]] : [])]));
    expect([...inCode].filter((v) => !inDocs.has(v)).sort(), "variables the docs do not list").toEqual([]);
    expect([...inDocs].filter((v) => !inCode.has(v)).sort(), "documented variables nothing reads").toEqual([]);
    expect(inCode).toContain("RUNPOD_API_KEY");
    expect(inCode).toContain("PYFLEET_PUBLIC_URL");
  });
});
