import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
/** Hand-written source; generated code (gen/, _proto/, *_pb.ts, *_pb2*.py) is left out. */
const TREES = ["server/src", "sdk-ts/src", "protocol/src", "python-bridge/worker/src", "python-bridge/client/src"];
const GENERATED = new Set(["gen", "_proto", "node_modules"]);
const LIMIT = 420;

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
});
