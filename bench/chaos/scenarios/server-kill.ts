import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { ComputeService, ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { type ChaosOptions, type ChaosResult, codeOf, descendants, freePort, isAlive, poolClient, processesMentioning, serveChild as serve, transportFor } from "../lib.js";

/**
 * A restart "serves at once": it answers its first call no later than a cold
 * start on an empty data dir does (measured in the same run, so a busy
 * machine slows both), with slack for noise. Slower would mean the restart
 * waits on something the killed server left behind (the port, the store).
 */
const RESTART_SLACK = 1.5;
const RESTART_SLACK_MS = 1_000;

/**
 * The server is SIGKILLed under load, with workers busy and a local compute
 * running: nothing it started may outlive it, and a new server on the same
 * port and data dir serves at once.
 */
export async function serverKill(o: ChaosOptions): Promise<ChaosResult> {
  const dataDir = mkdtempSync(join(tmpdir(), "pyfleet-kill-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const notes: string[] = [];
  const launchedAt = performance.now();
  const first = await serve(port, dataDir);
  const client = poolClient(url);
  await client.execute({ tool: "add", args: { a: 1, b: 2 } }, { timeoutMs: 60_000 });
  const coldServingMs = performance.now() - launchedAt;
  const compute = createClient(ComputeService, transportFor(url));
  const spawned = await compute.spawnCompute({ spec: { provider: "local", labels: { chaos: "server-kill" } } });
  for await (const _ of compute.waitCompute({ id: spawned.compute!.id }, { timeoutMs: 20_000 })) { /* until ready */ }

  let stop = false;
  let answered = 0;
  // The pool's own Python processes, as the calls report them.
  const workerPids = new Set<number>();
  const load = Array.from({ length: 10 }, async () => {
    while (!stop) {
      await client.execute({ tool: "spin", args: { ms: 20 } }, { timeoutMs: 5_000 }).then((r) => {
        answered++;
        if (r.info?.workerPid) workerPids.add(r.info.workerPid);
      }, () => undefined);
    }
  });
  // Kill once the load is flowing (a call answered proves workers are busy) and both workers have answered.
  while (answered < 20 || workerPids.size < 2) await client.execute({ tool: "echo" }, { timeoutMs: 5_000 });
  const before = processesMentioning(dataDir).filter((pid) => pid !== first.child.pid);
  // What is watched must include every process the server started: its pool's workers by the pids
  // they answered with, and everything below it in the process tree (fork templates, the compute's group).
  const unwatched = [...new Set([...workerPids, ...descendants(first.child.pid!)])].filter((pid) => !before.includes(pid) && isAlive(pid));
  if (unwatched.length > 0) notes.push(`started by the server but not watched: ${unwatched.join(", ")}`);
  const killedAt = performance.now();
  first.child.kill("SIGKILL");
  stop = true;
  await Promise.all(load);

  // Orphans: every process the server started, checked until gone or 2 s passed.
  let goneMs = Number.POSITIVE_INFINITY;
  while (performance.now() - killedAt < 2_000) {
    if (before.every((pid) => !isAlive(pid))) {
      goneMs = performance.now() - killedAt;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const survivors = before.filter(isAlive);
  for (const pid of survivors) process.kill(pid, "SIGKILL");
  if (survivors.length > 0) notes.push(`alive 2 s after the kill: ${survivors.join(", ")}`);

  // Restart on the same port and data dir.
  const restartAt = performance.now();
  let restartError = "";
  let servingMs = Number.POSITIVE_INFINITY;
  const second = await serve(port, dataDir).catch((e: unknown) => {
    restartError = (e as Error).message;
    return undefined;
  });
  if (second) {
    const result = await poolClient(url).execute({ tool: "add", args: { a: 1, b: 2 } }, { timeoutMs: 10_000 }).then(() => "ok", codeOf);
    servingMs = performance.now() - restartAt;
    if (result !== "ok") restartError = `first call after restart: ${result}`;
    // The store survived: the compute is still known (its machine died with the old server).
    const found = await createClient(ComputeService, transportFor(url)).getCompute({ id: spawned.compute!.id }).then((r) => ComputeStatus[r.compute?.status ?? 0], codeOf);
    notes.push(`the compute from before the kill is still in the store (status ${found})`);
    second.child.kill("SIGTERM");
    await new Promise((resolve) => second.child.once("exit", resolve));
  }
  if (restartError) notes.push(`restart: ${restartError}`);
  rmSync(dataDir, { recursive: true, force: true });
  const servingGoalMs = RESTART_SLACK * coldServingMs + RESTART_SLACK_MS;
  const servedInTime = servingMs <= servingGoalMs;
  if (second && !servedInTime) notes.push(`the restarted server took ${Math.round(servingMs)} ms to serve, a cold start ${Math.round(coldServingMs)} ms`);
  const met = survivors.length === 0 && restartError === "" && unwatched.length === 0 && workerPids.size >= 2 && before.length >= 3 && servedInTime;
  return {
    id: "server.sigkill",
    what: "SIGKILL the server while 10 clients keep its 2 workers busy and a local compute runs; then restart it on the same port and data dir",
    counts: { processes_started: before.length, pool_workers: workerPids.size, unwatched: unwatched.length, alive_after_2s: survivors.length, gone_ms: Math.round(goneMs), cold_serving_ms: Math.round(coldServingMs), restart_serving_ms: Math.round(servingMs) },
    figure: `${before.length} processes it started (its ${workerPids.size} pool workers and every process below it among them: ${unwatched.length} unwatched) gone ${Number.isFinite(goneMs) ? `${Math.round(goneMs)} ms` : "NOT within 2 s"} after the kill; the restarted server answered its first call ${Math.round(servingMs)} ms after launch (a cold start: ${Math.round(coldServingMs)} ms)`,
    goal: `every process it started (its pool's Python workers among them) gone 2 s later; a restart on the same port and data dir answers its first call as soon as a cold start does (within ${RESTART_SLACK}x its time + ${RESTART_SLACK_MS / 1000} s)`,
    met,
    notes,
  };
}
