import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
/** Hand-written source; generated code (gen/, _proto/, *_pb.ts, *_pb2*.py) is left out. */
const TREES = ["server/src", "sdk-ts/src", "protocol/src", "python-bridge/worker/src", "python-bridge/client/src"];
const GENERATED = new Set(["gen", "_proto", "node_modules"]);
const LIMIT = 420;
/** Hand-written TypeScript where an optional field is set with an `if` or passed as undefined, never spread in. */
const SPREAD_FREE = ["server/src", "sdk-ts/src", "protocol/src", "conformance/src", "bench", "server/ui"];

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return GENERATED.has(entry.name) ? [] : sources(path);
    return /\.(ts|py)$/.test(entry.name) && !/(\.d\.ts|_pb\.ts|_pb2(_grpc)?\.py)$/.test(entry.name) ? [path] : [];
  });
}

describe("source files", () => {
  it(`stay under ~400 lines (${LIMIT}) unless their first lines say why they are over`, () => {
    const unexplained = TREES.flatMap(sources).filter((path) => {
      const lines = readFileSync(join(root, path), "utf8").split("\n");
      return lines.length > LIMIT && !/over 400 lines on purpose/i.test(lines.slice(0, 10).join("\n"));
    });
    expect(unexplained).toEqual([]);
  });

  it("set optional fields without a conditional spread (`...(x ? { a } : {})`)", () => {
    const found = SPREAD_FREE.flatMap(sources).filter((path) => path.endsWith(".ts"))
      .flatMap((path) => conditionalSpreads(readFileSync(join(root, path), "utf8")).map((line) => `${path}:${line}`));
    expect(found).toEqual([]);
  });

  it("the conditional-spread check sees one-line and split spreads, and leaves arrays and two-sided choices alone", () => {
    const text = [
      "const a = { x, ...(y ? { y } : {}) };",
      "fetch(url, { ...(get ? {} : { body }) });",
      "const b = {",
      "  ...(z",
      "    ? { z: f(z) }",
      "    : {}),",
      "};",
      "const args = [...(h1 ? [\"--h1\"] : [])];",
      "const c = { ...(one ? { requests } : { seconds }) };",
      "const d = { ...defaults, ...(options ?? {}) };",
    ].join("\n");
    expect(conditionalSpreads(text)).toEqual([1, 2, 4]);
  });
});

/**
 * Line numbers of `...(cond ? {...} : {})` and `...(cond ? {} : {...})`: the
 * spread's parenthesised expression, read to its closing parenthesis (so one
 * split over lines counts), is a conditional with an empty object as a branch.
 */
function conditionalSpreads(text: string): number[] {
  const lines: number[] = [];
  for (let at = text.indexOf("...("); at >= 0; at = text.indexOf("...(", at + 4)) {
    let depth = 0;
    let end = at + 3;
    for (; end < text.length; end++) {
      if (text[end] === "(") depth++;
      else if (text[end] === ")" && --depth === 0) break;
    }
    const inner = text.slice(at + 4, end);
    if (inner.includes("?") && /(?:\?\s*\{\s*\}\s*:|:\s*\{\s*\}\s*$)/.test(inner)) lines.push(text.slice(0, at).split("\n").length);
  }
  return lines;
}
