import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MockProvider, PyfleetError, RunPodProvider, serveProvider } from "@pyfleet/server";
import { describe, expect, it, onTestFinished } from "vitest";
import { FakeRunPod } from "../../server/test/compute/fake-runpod.js";
import { startServer } from "../../server/test/helpers.js";
import { junitReport, jsonReport, loadSuites, parseSuite, type RunOptions, runSuites, type RunSummary } from "../src/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SUITES = join(ROOT, "conformance/suites");
// The commands from source (the bins run the compiled packages; the packaging test covers those).
const SOURCE = ["--conditions=pyfleet-source", "--import", "tsx"];
const CLI = join(ROOT, "conformance/src/cli.ts");
const PYFLEET = join(ROOT, "server/src/cli/main.ts");
const PYTHON = join(ROOT, ".venv/bin/python");
const ALICE = "alice-key-0123456789abcdef";
const BOB = "bob-key-0123456789abcdef00";

const suites = loadSuites(SUITES);

function failures(summary: RunSummary): string[] {
  return summary.results.filter((r) => r.verdict === "failed" || r.verdict === "stale").map((r) => `${r.name}: ${r.reason}`);
}

/** The skipped cases with why, sorted: a certification pins this set exactly, so a case that stops running is noticed. */
function skipped(summary: RunSummary): string[] {
  return summary.results.filter((r) => r.verdict === "skipped").map((r) => `${r.name}: ${r.reason}`).sort();
}

/** Starts a child that prints a JSON line with `url` once it serves, and stops it after the test. */
async function startChild(command: string, args: string[]): Promise<string> {
  const child: ChildProcess = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
  onTestFinished(() => {
    child.kill("SIGTERM");
  });
  const lines = createInterface({ input: child.stdout! });
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`${command} exited with ${code} before serving`))));
  const ready = (async () => {
    for await (const line of lines) {
      const url = (JSON.parse(line) as { url?: string }).url;
      if (url) return url;
    }
    throw new Error(`${command} closed stdout before serving`);
  })();
  return Promise.race([ready, exited]);
}

/** A mock provider that answers INTERNAL instead of NOT_FOUND for unknown machines: a deliberately broken provider. */
class WrongCodeProvider extends MockProvider {
  override async get(id: string) {
    try {
      return await super.get(id);
    } catch {
      throw new PyfleetError("internal", `lookup of "${id}" failed`);
    }
  }
}

describe("the suites", () => {
  it("cover the contract with at least 120 cases, every one named and targeted", () => {
    const cases = suites.flatMap((s) => s.cases.map((c) => `${s.name}/${c.name}`));
    expect(cases.length).toBeGreaterThanOrEqual(120);
    expect(new Set(cases).size).toBe(cases.length);
    expect(suites.map((s) => s.name)).toEqual(expect.arrayContaining(["auth", "compute", "health", "jobs", "pool.execute", "pool.sessions", "pool.variables", "provider"]));
  });

  it("reject a misspelled field, naming it", () => {
    const text = "name: typo\ntarget: TARGET_KIND_SERVER\ncases:\n  - name: a\n    stpes: []\n";
    expect(() => parseSuite(text, "typo.yaml")).toThrow(/typo\.yaml.*stpes/);
  });

  it("reject a case without steps' rpc or a target", () => {
    expect(() => parseSuite("name: x\ncases:\n  - name: a\n    steps: [{ request: {} }]\n", "x.yaml")).toThrow(/no target/);
    expect(() => parseSuite("name: x\ntarget: TARGET_KIND_SERVER\ncases:\n  - name: a\n    steps: [{ request: {} }]\n", "x.yaml")).toThrow(/needs rpc or http/);
  });
});

describe.each(["connect", "grpc", "grpc-web"] as const)("the embedded server over %s", (protocol) => {
  it("passes every server case, none skipped", async () => {
    const server = await startServer({
      auth: { apiKeys: [{ name: "alice", key: ALICE }, { name: "bob", key: BOB }] },
      compute: { pollIntervalMs: 50, idleSweepMs: 50 },
      // "single" (one worker) is where the "worker is free after a cancel" cases run.
      pools: [{ name: "default" }, { name: "single", size: 1 }],
    });
    await server.ready();
    const summary = await runSuites(suites, { target: "server", url: server.url, protocol, apiKey: ALICE, otherApiKey: BOB, parallel: 4 });
    expect(failures(summary)).toEqual([]);
    expect(skipped(summary)).toEqual([]);
    expect(summary.capabilities).toContain("pool.single");
    expect(summary.passed).toBeGreaterThanOrEqual(200);
  }, 120_000);
});

describe("built-in providers", () => {
  it.each(["connect", "grpc", "grpc-web"] as const)("mock passes the provider suite over %s", async (protocol) => {
    const served = await serveProvider(new MockProvider());
    onTestFinished(() => served.close());
    const summary = await runSuites(suites, { target: "provider", url: served.url, protocol });
    expect(failures(summary)).toEqual([]);
    expect(summary.capabilities).toContain("reset");
    // Only the cases for providers that lack a capability are skipped.
    expect(skipped(summary)).toEqual([
      "provider/jobs-unimplemented-without-the-capability: target lacks: no_jobs",
      "provider/stop-unimplemented-without-the-capability: target lacks: no_stop_start",
    ]);
  }, 60_000);

  it("local passes the provider suite, served by `pyfleet provider serve local`", async () => {
    const url = await startChild(process.execPath, [...SOURCE, PYFLEET, "provider", "serve", "local", "--port", "0"]);
    const summary = await runSuites(suites, { target: "provider", url, protocol: "grpc", parallel: 4 });
    expect(failures(summary)).toEqual([]);
    // Local computes have no spot market, no reset and no serverless jobs.
    expect(skipped(summary)).toEqual([
      "provider/cancel-a-finished-job-changes-nothing: target lacks: jobs, job_streaming",
      "provider/get-unknown-job-is-not-found: target lacks: jobs",
      "provider/reset-clears-everything: target lacks: reset",
      "provider/run-job-is-idempotent-by-request-id: target lacks: jobs",
      "provider/run-job-needs-an-endpoint: target lacks: jobs",
      "provider/run-job-then-get: target lacks: jobs",
      "provider/spot-machine: target lacks: spot",
      "provider/stop-unimplemented-without-the-capability: target lacks: no_stop_start",
      "provider/stream-job-ends-with-the-final-state: target lacks: jobs, job_streaming",
      "provider/stream-unknown-job-is-not-found: target lacks: jobs, job_streaming",
    ]);
    expect(summary.passed).toBeGreaterThanOrEqual(20);
  }, 60_000);

  it("runpod passes the provider suite against the fake RunPod API", async () => {
    const fake = await FakeRunPod.start();
    const runpod = new RunPodProvider({
      apiKey: fake.apiKey,
      restUrl: fake.restUrl,
      serverlessUrl: fake.serverlessUrl,
      proxyUrl: "https://{id}-{port}.proxy.runpod.net",
      probePorts: false,
      retries: 2,
      minBackoffMs: 1,
      maxBackoffMs: 5,
      timeoutMs: 5_000,
      streamPollMs: 5,
    });
    const served = await serveProvider(runpod);
    onTestFinished(() => served.close());
    const summary = await runSuites(suites, { target: "provider", url: served.url, protocol: "connect", parallel: 4, jobEndpoint: "ep-conformance" });
    expect(failures(summary)).toEqual([]);
    expect(skipped(summary)).toEqual([
      "provider/jobs-unimplemented-without-the-capability: target lacks: no_jobs",
      "provider/reset-clears-everything: target lacks: reset",
      "provider/stop-unimplemented-without-the-capability: target lacks: no_stop_start",
    ]);
    expect(summary.passed).toBeGreaterThanOrEqual(25);
    // Nothing left running at "RunPod" once the cases cleaned up.
    expect(fake.livePods()).toEqual([]);
  }, 60_000);
});

describe("a third-party provider", () => {
  it("the Python sample provider (grpcio) passes the provider suite", async () => {
    const url = await startChild(PYTHON, [join(ROOT, "conformance/examples/python-provider/toycloud.py"), "--port", "0", "--exit-with-stdin"]);
    const summary = await runSuites(suites, { target: "provider", url, protocol: "grpc" });
    expect(failures(summary)).toEqual([]);
    expect(skipped(summary)).toEqual([
      "provider/jobs-unimplemented-without-the-capability: target lacks: no_jobs",
      "provider/spot-machine: target lacks: spot",
      "provider/stop-unimplemented-without-the-capability: target lacks: no_stop_start",
    ]);
    expect(summary.passed).toBeGreaterThanOrEqual(30);
  }, 60_000);
});

describe("the Python sample provider's lifecycle", () => {
  /** toycloud with its stdin watched, until it prints its URL; stderr is collected. */
  async function startToyCloud() {
    const child = spawn(PYTHON, [join(ROOT, "conformance/examples/python-provider/toycloud.py"), "--port", "0", "--exit-with-stdin"], { stdio: ["pipe", "pipe", "pipe"] });
    onTestFinished(() => {
      child.kill("SIGKILL");
    });
    let stderr = "";
    child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    for await (const line of createInterface({ input: child.stdout! })) {
      if ((JSON.parse(line) as { url?: string }).url) break;
    }
    return { child, exited, stderr: () => stderr };
  }

  it.each([
    ["SIGTERM", (child: ChildProcess) => child.kill("SIGTERM")],
    ["its stdin closing", (child: ChildProcess) => child.stdin!.end()],
  ] as const)("exits cleanly on %s, with no fatal error at interpreter shutdown", async (_, stop) => {
    const toy = await startToyCloud();
    stop(toy.child);
    expect(await toy.exited).toEqual({ code: 0, signal: null });
    expect(toy.stderr()).not.toMatch(/Fatal Python error|could not acquire lock/);
    expect(toy.stderr()).toBe("");
  }, 30_000);
});

describe("the runner", () => {
  const brokenRun = async (extra: Partial<RunOptions> = {}) => {
    const served = await serveProvider(new WrongCodeProvider());
    onTestFinished(() => served.close());
    return runSuites(suites, { target: "provider", url: served.url, protocol: "connect", run: ["provider/get-unknown-is-not-found", "provider/terminate"], ...extra });
  };

  it("fails a broken provider, naming the case, the step and the difference", async () => {
    const summary = await brokenRun();
    const failed = summary.results.filter((r) => r.verdict === "failed");
    expect(failed.map((r) => r.name)).toEqual(["provider/get-unknown-is-not-found"]);
    expect(failed[0]!.reason).toMatch(/^step 1 \(ProviderService\/Get\): expected NOT_FOUND, got INTERNAL \(lookup of "no-such-machine-[0-9a-f]+" failed\)$/);
    expect(failed[0]!.trace[0]!.request).toEqual({ id: expect.stringMatching(/^no-such-machine-/) });
    expect(summary.passed).toBe(1);
  });

  it("counts a listed known failure as expected, and reports a listed case that passes as stale", async () => {
    const summary = await brokenRun({ knownFailing: ["provider/get-unknown-is-not-found", "provider/terminate"] });
    const verdicts = Object.fromEntries(summary.results.filter((r) => r.verdict !== "skipped").map((r) => [r.name, r.verdict]));
    expect(verdicts).toEqual({ "provider/get-unknown-is-not-found": "known-failing", "provider/terminate": "stale" });
    expect(summary.failed).toBe(1);
  });

  it("never lets its own exception pass for a step that expects UNKNOWN", async () => {
    const served = await serveProvider(new MockProvider());
    onTestFinished(() => served.close());
    const suite = parseSuite([
      "name: runner",
      "target: TARGET_KIND_PROVIDER",
      "cases:",
      "  - name: a-request-that-does-not-encode",
      "    steps:",
      "      - rpc: ProviderService/Get",
      "        request: { noSuchField: 1 }",
      "        expect: { code: UNKNOWN }",
    ].join("\n"), "runner.yaml");
    for (const protocol of ["connect", "grpc", "grpc-web"] as const) {
      const summary = await runSuites([suite], { target: "provider", url: served.url, protocol });
      expect(summary.results.map((r) => [r.verdict, r.reason])).toEqual([
        ["failed", expect.stringMatching(/^step 1 \(ProviderService\/Get\): expected UNKNOWN, got CLIENT_ERROR \(the request for ProviderService\/Get does not parse: .*noSuchField/)],
      ]);
    }
  });

  it("writes JSON and JUnit reports", async () => {
    const summary = await brokenRun();
    const options = { target: "provider", url: "http://x", protocol: "connect" } as const;
    const json = JSON.parse(jsonReport(summary, options)) as { failed: number; cases: { name: string; verdict: string }[] };
    expect(json.failed).toBe(1);
    expect(json.cases).toContainEqual(expect.objectContaining({ name: "provider/terminate", verdict: "passed" }));
    const junit = junitReport(summary, options);
    expect(junit).toMatch(/<testcase classname="provider\.connect\.provider" name="get-unknown-is-not-found"[^>]*><failure message="step 1/);
  });

  it("as a command: prints the failure with -v, the closing line, and exits 1", async () => {
    const served = await serveProvider(new WrongCodeProvider());
    onTestFinished(() => served.close());
    const dir = mkdtempSync(join(tmpdir(), "conformance-"));
    const run = (args: string[]) => promisify(execFile)(process.execPath, [...SOURCE, CLI, ...args]).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    const bad = await run(["provider", served.url, "--run", "provider/get-*", "--skip", "provider/get-without-id-is-invalid", "-v", "--report", "junit", "--report-file", join(dir, "report.xml")]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("FAIL provider/get-unknown-is-not-found: step 1 (ProviderService/Get): expected NOT_FOUND, got INTERNAL");
    expect(bad.stdout).toMatch(/request: +\{"id":"no-such-machine-/);
    expect(bad.stdout.trim().split("\n").at(-1)).toMatch(/^2 passed, 1 failed, \d+ skipped$/);
    expect(readFileSync(join(dir, "report.xml"), "utf8")).toContain("<failure");

    const good = await run(["provider", served.url, "--protocol", "grpc", "--run", "provider/terminate*", "--parallel", "2"]);
    expect(good.code).toBe(0);
    expect(good.stdout.trim().split("\n").at(-1)).toMatch(/^3 passed, 0 failed, \d+ skipped$/);
  }, 120_000);
});
