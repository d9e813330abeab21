// Every package states the same project: its repository, homepage and issue tracker.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const REPOSITORY = "https://github.com/pyfleet/pyfleet";

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** The key = "value" lines of one TOML table (enough for [project.urls]). */
function tomlTable(text: string, table: string): Record<string, string> {
  const body = text.split(`[${table}]\n`)[1]?.split(/\n\[/)[0] ?? "";
  return Object.fromEntries([...body.matchAll(/^(\w+) = "([^"]*)"$/gm)].map((m) => [m[1]!, m[2]!]));
}

describe("package metadata", () => {
  it("every npm package names the repository, its folder in it, its README and the issue tracker", () => {
    const manifests = ["package.json", "sdk-ts/package.json", "protocol/package.json", "server/package.json", "conformance/package.json"];
    const seen = manifests.map((path) => {
      const m = JSON.parse(read(path)) as { repository: unknown; homepage: string; bugs: string };
      return [path, m.repository, m.homepage, m.bugs];
    });
    expect(seen).toEqual(manifests.map((path) => {
      const dir = path.split("/").slice(0, -1).join("/");
      return [
        path,
        dir ? { type: "git", url: `${REPOSITORY}.git`, directory: dir } : { type: "git", url: `${REPOSITORY}.git` },
        dir ? `${REPOSITORY}/tree/main/${dir}#readme` : `${REPOSITORY}#readme`,
        `${REPOSITORY}/issues`,
      ];
    }));
  });

  it("both Python distributions name the same repository and issue tracker", () => {
    for (const [dist, doc] of [["client", "install.md"], ["worker", "adapters.md"]] as const) {
      expect(tomlTable(read(`python-bridge/${dist}/pyproject.toml`), "project.urls")).toEqual({
        Homepage: REPOSITORY,
        Documentation: `${REPOSITORY}/blob/main/docs/${doc}`,
        Repository: REPOSITORY,
        Issues: `${REPOSITORY}/issues`,
      });
    }
  });

  it("the READMEs and the install guide link the same repository, and no other", () => {
    for (const path of ["python-bridge/client/README.md", "python-bridge/worker/README.md", "docs/install.md"]) {
      const links = new Set(read(path).match(/https:\/\/github\.com\/[\w.-]+\/[\w.-]+/g) ?? []);
      expect([path, [...links]]).toEqual([path, [REPOSITORY]]);
    }
  });
});
