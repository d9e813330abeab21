import { readFileSync } from "node:fs";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { SERVER_VERSION, VERSION_HEADER } from "../../src/version.js";
import { startServer } from "../helpers.js";

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

function cli(args: string[]) {
  return execa("node", ["--conditions=pyfleet-source", "--import", "tsx", "server/src/cli/main.ts", ...args], { reject: false, timeout: 30_000 });
}

describe("version handshake", () => {
  it("every response states the server's version: RPCs, errors and the fallback", async () => {
    const server = await startServer({ pools: [] });
    onTestFinished(() => server.close());
    expect(SERVER_VERSION).toBe(PACKAGE_VERSION);
    const health = await fetch(`${server.url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    const missing = await fetch(`${server.url}/pyfleet.pool.v1.PoolService/Execute`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"pool":"nope","tool":"x"}' });
    const fallback = await fetch(`${server.url}/nothing-here`);
    expect([health.status, missing.status, fallback.status]).toEqual([200, 404, 404]);
    expect([health, missing, fallback].map((r) => r.headers.get(VERSION_HEADER))).toEqual([PACKAGE_VERSION, PACKAGE_VERSION, PACKAGE_VERSION]);
  });

  it("ListPools states the server's version in its answer too", async () => {
    const server = await startServer({ pools: [] });
    onTestFinished(() => server.close());
    const pools = await fetch(`${server.url}/pyfleet.pool.v1.PoolService/ListPools`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(await pools.json()).toEqual({ serverVersion: PACKAGE_VERSION });
  });

  it("`pyfleet --version` prints the CLI's version and the server's, or why the server's is unknown", async () => {
    const server = await startServer({ pools: [] });
    onTestFinished(() => server.close());
    const [up, json, down] = await Promise.all([
      cli(["--url", server.url, "--version"]),
      cli(["--url", server.url, "--json", "-V"]),
      cli(["--url", "http://127.0.0.1:9", "--version"]),
    ]);
    expect(up.exitCode).toBe(0);
    expect(up.stdout).toBe(`pyfleet ${PACKAGE_VERSION} (CLI, Node ${process.version})\nserver ${PACKAGE_VERSION} at ${server.url}`);
    expect(JSON.parse(json.stdout)).toEqual({ cli: PACKAGE_VERSION, node: process.version, server: { url: server.url, version: PACKAGE_VERSION } });
    expect(down.exitCode).toBe(0);
    expect(down.stdout).toMatch(/^server at http:\/\/127\.0\.0\.1:9: unknown \(connect ECONNREFUSED 127\.0\.0\.1:9\)$/m);
  });
});
