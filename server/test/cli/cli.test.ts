import { create } from "@bufbuild/protobuf";
import { ComputeSpecSchema } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli/output.js";
import { startServer } from "../helpers.js";

/**
 * Each CLI run is a Node process that loads the server's TypeScript through
 * tsx: seconds on an idle machine, far more when the machine is shared (a
 * fresh-clone `npm test` beside other work took over 30 s for a test's nine
 * runs at once). The limits leave room for that; a hung CLI still fails.
 */
const CLI_TIMEOUT_MS = 120_000;
const TEST_TIMEOUT_MS = 240_000;

/** Runs the `pyfleet` CLI against a server and returns its output and exit code. */
function cli(url: string, args: string[], env: Record<string, string> = {}) {
  return execa("node", ["--conditions=pyfleet-source", "--import", "tsx", "server/src/cli/main.ts", ...args], {
    env: { PYFLEET_URL: url, ...env },
    reject: false,
    timeout: CLI_TIMEOUT_MS,
  });
}

describe("pyfleet CLI: pools, sessions, variables", { timeout: TEST_TIMEOUT_MS }, () => {
  it("lists tools, runs and streams tools, with exit codes by error class", async () => {
    const server = await startServer({ pools: [{ name: "default", size: 2 }] });
    await server.ready();
    const [tools, toolsJson, exec, failed, unknown, badArgs, stream, stats, pools] = await Promise.all([
      cli(server.url, ["tools"]),
      cli(server.url, ["--json", "tools"]),
      cli(server.url, ["exec", "add", "--args", '{"a": 2, "b": 3}']),
      cli(server.url, ["exec", "fail", "--args", '{"message": "kaboom"}']),
      cli(server.url, ["exec", "ech0"]),
      cli(server.url, ["exec", "add", "--args", "{not json"]),
      cli(server.url, ["stream", "count", "--args", '{"n": 3}']),
      cli(server.url, ["pools", "stats"]),
      cli(server.url, ["--json", "pools", "ls"]),
    ]);
    expect(tools.exitCode).toBe(0);
    expect(tools.stdout).toMatch(/^NAME\s+KIND/);
    expect(tools.stdout).toMatch(/count\s+stream/);
    expect((JSON.parse(toolsJson.stdout) as { name: string }[]).map((t) => t.name)).toContain("echo");
    expect(exec.stdout).toBe("5");
    expect(failed.exitCode).toBe(EXIT.toolRaised);
    expect(failed.stderr).toContain("ValueError: kaboom");
    expect(failed.stderr).toContain("Traceback");
    expect(unknown.exitCode).toBe(EXIT.notFound);
    expect(badArgs.exitCode).toBe(EXIT.usage);
    expect(badArgs.stderr).toContain("--args must be JSON");
    expect(stream.stdout.split("\n")).toEqual(['{"i":0}', '{"i":1}', '{"i":2}']);
    // The other commands run at the same time, so a worker may be busy: both are up, none starting.
    const [, ready, busy] = /workers ready\/busy\/starting\s+(\d+)\/(\d+)\/0/.exec(stats.stdout) ?? [];
    expect(Number(ready) + Number(busy), stats.stdout).toBe(2);
    expect(JSON.parse(pools.stdout)).toEqual([expect.objectContaining({ name: "default", default: "yes" })]);
  });

  it("creates, uses and removes sessions and their variables", async () => {
    const server = await startServer({ pools: [{ name: "default", size: 1 }] });
    await server.ready();
    const created = await cli(server.url, ["sessions", "create", "--affinity", "strict_queue"]);
    const id = created.stdout.trim();
    expect(id).toMatch(/^ses_/);
    expect((await cli(server.url, ["exec", "counter", "--session", id])).stdout).toBe("1");
    const [set, ls] = await Promise.all([
      cli(server.url, ["vars", "set", id, "limit", "7"]),
      cli(server.url, ["sessions", "ls"]),
    ]);
    expect(set.stdout).toBe("limit = 7 (version 1)");
    expect(ls.stdout).toContain(id);
    const [get, stale, missing, badType] = await Promise.all([
      cli(server.url, ["vars", "get", id, "limit"]),
      cli(server.url, ["vars", "set", id, "limit", "8", "--expected-version", "5"]),
      cli(server.url, ["vars", "get", id, "nope"]),
      cli(server.url, ["vars", "set", id, "x", "1", "--type", "decimal"]),
    ]);
    expect(get.stdout).toBe("7");
    expect(stale.exitCode).toBe(EXIT.unavailable);
    expect(stale.stderr).toContain("aborted");
    expect(missing.exitCode).toBe(EXIT.notFound);
    expect(badType.exitCode).toBe(EXIT.usage);
    expect((await cli(server.url, ["sessions", "rm", id])).exitCode).toBe(0);
    expect((await cli(server.url, ["sessions", "rm", id])).exitCode).toBe(EXIT.notFound);
  });

  it("watches variables and pool events until interrupted", async () => {
    const server = await startServer({ pools: [{ name: "default", size: 1 }] });
    await server.ready();
    const session = server.pools.get("default").createSession({});
    const watch = cli(server.url, ["vars", "watch", session.id, "n"]);
    const firstLine = new Promise<string>((resolve) => watch.stdout!.once("data", (b: Buffer) => resolve(b.toString())));
    // The watch is open once the server has a watcher; a set then reaches it.
    await new Promise<void>((resolve) => {
      const tryOnce = () => {
        server.pools.get("default").setVariable(session.id, { name: "n", value: { $typeName: "pyfleet.pool.v1.TypedValue", kind: { case: "intValue", value: 3n } } });
      };
      const timer = setInterval(tryOnce, 50);
      void firstLine.then(() => {
        clearInterval(timer);
        resolve();
      });
    });
    expect(JSON.parse((await firstLine).split("\n")[0]!)).toMatchObject({ change: "set", name: "n", value: 3 });
    watch.kill("SIGINT");
    expect((await watch).exitCode).toBe(0);

    const events = cli(server.url, ["pools", "watch"]);
    const died = new Promise<string>((resolve) => {
      let text = "";
      events.stdout!.on("data", (b: Buffer) => {
        text += b.toString();
        if (text.includes("worker.died")) resolve(text);
      });
    });
    // Kill workers until the watcher (connected asynchronously) reports a death.
    const killing = setInterval(() => {
      for (const w of server.pools.get("default").workerSummaries()) if (w.state === "ready") process.kill(w.pid, "SIGKILL");
    }, 300);
    expect(await died).toMatch(/worker\.died default-\d+ pid \d+: killed by SIGKILL/);
    clearInterval(killing);
    events.kill("SIGINT");
    await events;
  });

  it("says how to authenticate when the server wants a key", async () => {
    const server = await startServer({ pools: [], auth: { apiKeys: [{ name: "alice", key: "alice-key-0123456789ab" }], workerTokens: [] } });
    const denied = await cli(server.url, ["pools", "ls"]);
    expect(denied.exitCode).toBe(EXIT.auth);
    expect(denied.stderr).toContain("Authorization: Bearer");
    const allowed = await cli(server.url, ["pools", "ls"], { PYFLEET_API_KEY: "alice-key-0123456789ab" });
    expect(allowed.exitCode).toBe(0);
  });
});

describe("pyfleet CLI: compute and jobs", { timeout: TEST_TIMEOUT_MS }, () => {
  it("spawns, lists, gets, stops, starts, waits for and removes computes", async () => {
    const server = await startServer({ pools: [] });
    const spawned = await cli(server.url, ["--json", "compute", "spawn", "--gpu", "h100", "--count", "2", "--label", "team=ml", "--idle-ttl", "600", "--request-id", "r1"]);
    expect(spawned.exitCode).toBe(0);
    const compute = JSON.parse(spawned.stdout) as { id: string; status: string };
    expect(compute.status).toBe("ready");
    const again = await cli(server.url, ["compute", "spawn", "--gpu", "h100", "--count", "2", "--request-id", "r1"]);
    expect(again.stdout.trim()).toBe(compute.id);
    const [ls, get, wait, badGpu, badPort, missing, providers, gpus] = await Promise.all([
      cli(server.url, ["compute", "ls", "--label", "team=ml"]),
      cli(server.url, ["compute", "get", compute.id]),
      cli(server.url, ["compute", "wait", compute.id]),
      cli(server.url, ["compute", "spawn", "--gpu", "h1000"]),
      cli(server.url, ["compute", "spawn", "--port", "http"]),
      cli(server.url, ["compute", "get", "cmp_missing"]),
      cli(server.url, ["compute", "providers"]),
      cli(server.url, ["compute", "gpus"]),
    ]);
    expect(ls.stdout).toContain(compute.id);
    expect(get.stdout).toMatch(/ready\s+NVIDIA H100/);
    expect(wait.exitCode).toBe(0);
    expect(badGpu.exitCode).toBe(EXIT.rejected);
    expect(badGpu.stderr).toContain("valid:");
    expect(badPort.exitCode).toBe(EXIT.usage);
    expect(missing.exitCode).toBe(EXIT.notFound);
    expect(providers.stdout).toMatch(/mock\s+mock\s+yes/);
    expect(gpus.stdout).toMatch(/h100\s+NVIDIA H100 80GB HBM3/);
    expect((await cli(server.url, ["compute", "stop", compute.id])).stdout).toContain("stopped");
    expect((await cli(server.url, ["compute", "start", compute.id])).stdout).toContain("ready");
    expect((await cli(server.url, ["compute", "touch", compute.id])).exitCode).toBe(0);
    expect((await cli(server.url, ["compute", "rm", compute.id])).stdout).toContain("terminated");
    const stopGone = await cli(server.url, ["compute", "stop", compute.id]);
    expect(stopGone.exitCode).toBe(EXIT.rejected);
  });

  it("watches computes", async () => {
    const server = await startServer({ pools: [] });
    const watch = cli(server.url, ["compute", "watch"]);
    const lines: string[] = [];
    const sawReady = new Promise<void>((resolve) => {
      watch.stdout!.on("data", (b: Buffer) => {
        lines.push(...b.toString().trim().split("\n"));
        if (lines.some((l) => l.includes("-> ready"))) resolve();
      });
    });
    // Spawn until the watcher (whose connection is asynchronous) has seen one become ready.
    const spawning = setInterval(() => void server.compute.spawn("", create(ComputeSpecSchema, {})), 200);
    await sawReady;
    clearInterval(spawning);
    watch.kill("SIGINT");
    await watch;
    expect(lines.some((l) => /^cmp_\S+ pending -> ready$/.test(l))).toBe(true);
  });

  it("runs, gets, streams and cancels jobs", async () => {
    const server = await startServer({ pools: [{ name: "default", size: 1 }] });
    await server.ready();
    const run = await cli(server.url, ["jobs", "run", "ep-1", "--input", '{"q": 1}']);
    const id = run.stdout.trim();
    expect(id).toMatch(/^job_/);
    const get = await cli(server.url, ["--json", "jobs", "get", id]);
    expect(JSON.parse(get.stdout)).toMatchObject({ status: "completed", output: { q: 1 } });
    const local = await cli(server.url, ["jobs", "run", "default/add", "--provider", "local", "--input", '{"a": 1, "b": 1}']);
    const streamed = await cli(server.url, ["jobs", "stream", local.stdout.trim()]);
    expect(streamed.stdout).toContain('"status":"completed"');
    const cancel = await cli(server.url, ["jobs", "cancel", (await cli(server.url, ["jobs", "run", "ep-2"])).stdout.trim()]);
    expect(cancel.stdout).toContain("cancelled");
    expect((await cli(server.url, ["jobs", "get", "job_missing"])).exitCode).toBe(EXIT.notFound);
    expect((await cli(server.url, ["jobs", "run", "ep", "--input", "{"])).exitCode).toBe(EXIT.usage);
  });
});
