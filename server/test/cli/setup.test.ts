import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { EXIT } from "../../src/cli/output.js";

const ROOT = new URL("../../../", import.meta.url).pathname;
const MAIN = join(ROOT, "server/src/cli/main.ts");
const PYTHON = join(ROOT, ".venv/bin/python");

/** Runs the `pyfleet` CLI from `cwd`, as a user would. */
function cli(args: string[], cwd: string, env: Record<string, string> = {}) {
  return execa("node", ["--conditions=pyfleet-source", "--import", join(ROOT, "node_modules/tsx/dist/esm/index.mjs"), MAIN, ...args], {
    cwd,
    env: { PYFLEET_PYTHON: PYTHON, ...env },
    extendEnv: true,
    reject: false,
    timeout: 60_000,
  });
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "pyfleet-setup-"));
}

interface Check {
  name: string;
  status: string;
  detail: string;
  fix?: string;
}

describe("pyfleet init, config check, doctor, serve: a new project end to end", () => {
  it("scaffolds a project whose tests pass, whose config checks, whose doctor is clean, and which serves its tools", async () => {
    const dir = join(tempDir(), "proj");
    const made = await cli(["init", dir], ROOT);
    expect(made.exitCode, made.stderr).toBe(0);
    expect(made.stdout).toContain("pyfleet serve --config pyfleet.yaml");
    expect(readFileSync(join(dir, "pyfleet.yaml"), "utf8")).toMatch(/^# yaml-language-server: \$schema=.*server\/pyfleet\.schema\.json$/m);

    const [pytest, check, doctor, again] = await Promise.all([
      execa(PYTHON, ["-m", "pytest", "-q", "-p", "no:cacheprovider"], { cwd: dir, reject: false }),
      cli(["config", "check", "pyfleet.yaml"], dir),
      cli(["--json", "doctor", "--config", "pyfleet.yaml", "--port", "0"], dir),
      cli(["init", dir], ROOT),
    ]);
    expect(pytest.exitCode, pytest.stdout).toBe(0);
    expect(pytest.stdout).toContain("3 passed");
    expect(check.exitCode, check.stderr).toBe(0);
    expect(check.stdout).toContain("pyfleet.yaml: ok");
    expect(check.stdout).toMatch(/pool\s+default: tools:Tools x2/);
    const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: Check[] };
    expect(report.checks.filter((c) => c.status !== "ok"), doctor.stdout).toEqual([]);
    expect(report.checks.map((c) => c.name)).toEqual([
      "node", "config", "pool default python", "pool default adapter", "pool default fork",
      "data dir", "store", "provider mock", "provider local", "auth", "port",
    ]);
    expect(report.checks.find((c) => c.name === "pool default adapter")?.detail).toBe("tools:Tools: 2 tools (countdown, greet)");
    expect(doctor.exitCode).toBe(0);
    expect(again.exitCode).toBe(EXIT.usage);
    expect(again.stderr).toMatch(/tools\.py, .*test_tools\.py, .*pyfleet\.yaml already exist: pick another directory, or pass --force/);

    // `pyfleet serve` in the project directory serves the scaffold's tools.
    const server = execa("node", ["--conditions=pyfleet-source", "--import", join(ROOT, "node_modules/tsx/dist/esm/index.mjs"), MAIN, "serve", "--config", "pyfleet.yaml", "--port", "0"], {
      cwd: dir,
      env: { PYFLEET_PYTHON: PYTHON },
      reject: false,
    });
    onTestFinished(async () => {
      server.kill("SIGTERM");
      await server;
    });
    const url = await new Promise<string>((resolve, reject) => {
      let seen = "";
      let found = "";
      server.stdout!.on("data", (chunk: Buffer) => {
        seen += chunk.toString();
        found ||= /"url":"(http:\/\/[^"]+)"/.exec(seen)?.[1] ?? "";
        if (found && seen.includes("all pools are ready")) resolve(found);
      });
      void server.then((r) => reject(new Error(`serve exited ${r.exitCode}: ${r.stderr}\n${seen}`)));
    });
    const [greet, stream] = await Promise.all([
      cli(["--url", url, "exec", "greet", "--args", '{"name": "Ada"}'], dir),
      cli(["--url", url, "stream", "countdown", "--args", '{"n": 3}'], dir),
    ]);
    expect(greet.stdout, greet.stderr).toBe('"Hello, Ada!"');
    expect(stream.stdout.split("\n")).toEqual(["3", "2", "1"]);
  }, 180_000);
});

describe("pyfleet config check", () => {
  it("names file:line:column and the key of every problem, and the variable that set a bad value", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "bad.yaml"), [
      "port: 9000",
      "pools:",
      "  - name: gpu",
      "    sise: 3",
      "  - { name: cpu, size: -1 }",
      "logLevel: loud",
      "",
    ].join("\n"));
    writeFileSync(join(dir, "broken.yaml"), "port: 9000\npools: [\n  name: x\n");
    writeFileSync(join(dir, "dup.yaml"), "pools:\n  - name: a\n  - name: a\ndefaultPool: b\n");
    const [bad, badJson, fromEnv, broken, dup] = await Promise.all([
      cli(["config", "check", "bad.yaml"], dir),
      cli(["--json", "config", "check", "bad.yaml"], dir),
      cli(["config", "check", "bad.yaml"], dir, { PYFLEET_PORT: "70000" }),
      cli(["config", "check", "broken.yaml"], dir),
      cli(["config", "check", "dup.yaml"], dir),
    ]);
    expect(bad.exitCode).toBe(EXIT.rejected);
    expect(bad.stderr.trim().split("\n")).toEqual([
      "config file bad.yaml has 3 problems:",
      "  bad.yaml:4:5: unknown key pools[0].sise (check its spelling against docs/configuration.md)",
      "  bad.yaml:5:24: pools[1].size: Too small: expected number to be >=0",
      '  bad.yaml:6:11: logLevel: Invalid option: expected one of "trace"|"debug"|"info"|"warn"|"error"|"fatal"|"silent"',
    ]);
    const issues = (JSON.parse(badJson.stdout) as { ok: boolean; issues: { path: unknown[]; line: number; column: number }[] });
    expect(issues.ok).toBe(false);
    expect(issues.issues.map((i) => [i.path, i.line, i.column])).toEqual([
      [["pools", 0, "sise"], 4, 5],
      [["pools", 1, "size"], 5, 24],
      [["logLevel"], 6, 11],
    ]);
    expect(fromEnv.stderr).toContain("  $PYFLEET_PORT: port: Too big: expected number to be <=65535");
    expect(broken.exitCode).toBe(EXIT.rejected);
    expect(broken.stderr).toMatch(/^config file broken\.yaml is not valid YAML:\n {2}broken\.yaml:\d+:\d+: /);
    expect(dup.stderr.trim().split("\n")).toEqual([
      "config file dup.yaml has 2 problems:",
      '  dup.yaml:3:11: pools[1].name: two pools are named "a"',
      '  dup.yaml:4:14: defaultPool: no pool is named "b" (pools: a, a)',
    ]);
  }, 120_000);

  it("prints the JSON Schema that ships as server/pyfleet.schema.json, generated from the config's zod schema", async () => {
    const printed = await cli(["config", "schema"], ROOT);
    expect(printed.exitCode).toBe(0);
    // If this fails, regenerate: npm run gen:config-schema
    expect(`${printed.stdout}\n`).toBe(readFileSync(join(ROOT, "server/pyfleet.schema.json"), "utf8"));
    const schema = JSON.parse(printed.stdout) as { properties: Record<string, { items?: { properties: Record<string, unknown>; additionalProperties: boolean } }>; additionalProperties: boolean };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.pools?.items?.additionalProperties).toBe(false);
    expect(schema.properties.pools?.items?.properties.startMode).toEqual({
      default: "auto", type: "string", enum: ["auto", "spawn", "fork"],
      description: "fork (import once in a template, fork workers copy-on-write), spawn (a process each), or auto: fork when the template finds it safe.",
    });
  }, 60_000);
});

describe("pyfleet doctor", () => {
  it("fails on each broken part, says what to fix, and exits 1", async () => {
    const dir = tempDir();
    // A port someone else holds.
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const port = (holder.address() as net.AddressInfo).port;
    // A closed port for an unreachable remote provider.
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    writeFileSync(join(dir, "datafile"), "not a directory");
    writeFileSync(join(dir, "pyfleet.yaml"), [
      `port: ${port}`,
      "dataDir: datafile",
      "pools:",
      "  - { name: broken, adapter: \"pyfleet_bridge.testing.broken_import:Nope\", size: 1 }",
      "  - { name: threads, adapter: \"pyfleet_bridge.testing.thread_import:ThreadImportAdapter\", size: 1, startMode: fork }",
      "  - { name: threads-auto, adapter: \"pyfleet_bridge.testing.thread_import:ThreadImportAdapter\", size: 1 }",
      "  - { name: nopython, python: /nonexistent/python3, size: 1 }",
      "compute:",
      "  providers:",
      "    - { kind: runpod }",
      `    - { kind: remote, name: far, url: "http://127.0.0.1:${closedPort}" }`,
      "",
    ].join("\n"));
    const [human, json] = await Promise.all([
      cli(["doctor", "-c", "pyfleet.yaml"], dir, { RUNPOD_API_KEY: "" }),
      cli(["--json", "doctor", "-c", "pyfleet.yaml"], dir, { RUNPOD_API_KEY: "" }),
    ]);
    expect(human.exitCode).toBe(EXIT.failed);
    expect(json.exitCode).toBe(EXIT.failed);
    const checks = Object.fromEntries((JSON.parse(json.stdout) as { checks: Check[] }).checks.map((c) => [c.name, c]));
    const status = Object.fromEntries(Object.entries(checks).map(([name, c]) => [name, c.status]));
    expect(status).toEqual({
      "node": "ok",
      "config": "ok",
      "pool broken python": "ok",
      "pool broken adapter": "fail",
      "pool threads python": "ok",
      "pool threads adapter": "ok",
      "pool threads fork": "fail",
      "pool threads-auto python": "ok",
      "pool threads-auto adapter": "ok",
      "pool threads-auto fork": "warn",
      "pool nopython python": "fail",
      "data dir": "fail",
      "provider runpod": "fail",
      "provider far": "fail",
      "auth": "ok",
      "port": "fail",
    });
    expect(checks["pool broken adapter"]!.detail).toContain("RuntimeError: boom at import");
    expect(checks["pool threads fork"]!.detail).toBe("startMode is fork, but forking is unsafe: importing the adapter started 1 thread");
    expect(checks["pool threads fork"]!.fix).toContain("startMode to auto or spawn");
    expect(checks["pool nopython python"]!.detail).toContain("/nonexistent/python3");
    expect(checks["data dir"]!.detail).toBe(`${join(dir, "datafile")} exists and is not a directory`);
    expect(checks["provider runpod"]!.fix).toContain("RUNPOD_API_KEY");
    expect(checks["provider far"]!.detail).toMatch(/^remote: /);
    expect(checks["port"]!.detail).toBe(`127.0.0.1:${port} is in use (another pyfleet serve?)`);
    expect(human.stdout).toMatch(/^FAIL {4}port: 127\.0\.0\.1:\d+ is in use \(another pyfleet serve\?\)\n {8}fix: stop whatever holds it/m);
    expect(human.stdout).toMatch(/\n7 of 16 checks failed, 1 warned$/);
  }, 120_000);

  it("stops at a config that does not load, naming its place", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "pyfleet.yaml"), "pools:\n  - name: x\n    size: lots\n");
    const r = await cli(["doctor", "--config", "pyfleet.yaml"], dir);
    expect(r.exitCode).toBe(EXIT.failed);
    expect(r.stdout).toContain("FAIL    config: pyfleet.yaml:3:11: pools[0].size: Invalid input: expected number, received string");
    expect(r.stdout).toMatch(/1 of 2 checks failed$/);
  }, 60_000);
});
