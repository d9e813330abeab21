import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { startServer } from "./helpers.js";

const EXPECTED = [
  "add -> 5",
  "chunk -> {",
  "counter -> 2",
  "getvar -> hello",
  "error -> unknown: ValueError: on purpose",
  "compute -> ready",
];

describe("examples/", () => {
  it.each([
    ["TypeScript", "node", ["--conditions=pyfleet-source", "--import", "tsx", "examples/typescript/quickstart.ts"]],
    ["Python", ".venv/bin/python", ["examples/python/quickstart.py"]],
  ])("the %s quickstart runs against a server with the embedded defaults", async (_name, command, args) => {
    const server = await startServer({});
    await server.ready();
    const run = await execa(command, args, { env: { PYFLEET_URL: server.url }, reject: false, timeout: 60_000 });
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    for (const line of EXPECTED) expect(run.stdout).toContain(line);
  });
});
