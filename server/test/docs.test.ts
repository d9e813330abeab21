import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const TOP = ["server", "sdk-ts", "python-bridge", "conformance", "bench", "proto", "protocol", "docs", "scripts", "deploy", "examples"];

/**
 * The repo paths a page names: anything starting with a top-level folder, in
 * prose, code spans or diagrams; code spans like `pool/pool.ts` (a file, no
 * top-level folder), which the page says live under server/src; and relative
 * markdown links. Patterns with placeholders (`<package>`, `*`) are skipped.
 */
function namedPaths(markdown: string): { path: string; resolved: string }[] {
  const found = new Map<string, string>();
  const top = new RegExp(`(?<![\\w@/.-])((?:${TOP.join("|")})/[\\w./<>*-]*)`, "g");
  for (const [, raw] of markdown.matchAll(top)) {
    const path = raw!.replace(/[.,]+$/, "");
    if (!/[<>*]/.test(path)) found.set(path, path);
  }
  for (const [, span] of markdown.matchAll(/`([^`\s]+)`/g)) {
    const path = span!;
    if (!path.includes("/") || /[<>*:@]/.test(path) || path.startsWith("/") || TOP.some((t) => path.startsWith(`${t}/`))) continue;
    if (/\.[a-z]{1,5}$/.test(path)) found.set(path, `server/src/${path}`);
  }
  for (const [, link] of markdown.matchAll(/\]\(([^)#\s]+)[^)]*\)/g)) {
    if (!/^[a-z]+:/.test(link!)) found.set(link!, `docs/${link}`);
  }
  return [...found].map(([path, resolved]) => ({ path, resolved }));
}

describe("docs/architecture.md", () => {
  const page = readFileSync(`${root}docs/architecture.md`, "utf8");

  it("names only paths that exist", () => {
    const named = namedPaths(page);
    // The page names the rooms of the pool and the compute layer; if this drops, the parser broke.
    expect(named.length).toBeGreaterThan(30);
    expect(named.filter(({ resolved }) => !existsSync(`${root}${resolved}`)).map(({ path }) => path)).toEqual([]);
  });

  it("finds each kind of path, and would catch one that is gone", () => {
    const sample = "See `pool/gone.ts`, server/src/nowhere, [x](missing.md) and `python-bridge/<pkg>/v1`.";
    expect(namedPaths(sample)).toEqual([
      { path: "server/src/nowhere", resolved: "server/src/nowhere" },
      { path: "pool/gone.ts", resolved: "server/src/pool/gone.ts" },
      { path: "missing.md", resolved: "docs/missing.md" },
    ]);
  });
});
