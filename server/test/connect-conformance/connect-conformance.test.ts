import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/** Runs a command; resolves with its exit code and everything it printed. */
function run(command: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

/*
 * connectrpc/conformance's own server suite, unary cases, against the unary
 * front: Connect (proto, JSON, HTTP/1.1, h2c), gRPC and gRPC-Web, gzip,
 * deadlines, metadata, error details, message size limits. The runner is
 * installed by scripts/connect-conformance.mjs (go install, cached by version).
 */
describe("connectrpc/conformance server suite", () => {
  it("passes every unary case on the unary front", { timeout: 900_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "pyfleet-cc-"));
    const declinedLog = join(dir, "declined.jsonl");
    try {
      const { code, output } = await run(process.execPath, ["scripts/connect-conformance.mjs", "--parallel", "2", "--max-servers", "2"], { PYFLEET_DECLINED_LOG: declinedLog });
      const summary = /Total cases: (\d+)\n(\d+) passed, (\d+) failed/.exec(output);
      expect(summary, output.slice(-4000)).not.toBeNull();
      expect({ code, failed: Number(summary![3]), unrun: /could not be run/.test(output) }, output.slice(-4000)).toEqual({ code: 0, failed: 0, unrun: false });
      expect(Number(summary![2])).toBeGreaterThanOrEqual(600);
      // Only what the front is meant to decline reached connect-node: other
      // verbs, content types it does not serve, paths it does not know.
      const declined = readFileSync(declinedLog, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { method: string; url: string; contentType: string });
      const served = /^application\/(proto|json|grpc|grpc\+proto|grpc\+json|grpc-web|grpc-web\+proto|grpc-web\+json)$/;
      const wrongly = declined.filter((d) => d.method === "POST" && d.url.startsWith("/connectrpc.conformance.v1.ConformanceService/") && served.test(d.contentType));
      expect(wrongly).toEqual([]);
      expect(declined.length).toBeLessThan(40);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
