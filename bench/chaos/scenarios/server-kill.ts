import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { ComputeService, ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { type ChaosOptions, type ChaosResult, codeOf, freePort, isAlive, poolClient, processesMentioning, serveChild as serve, transportFor } from "../lib.js";

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
  const first = await serve(port, dataDir);
  const client = poolClient(url);
  const compute = createClient(ComputeService, transportFor(url));
  const spawned = await compute.spawnCompute({ spec: { provider: "local", labels: { chaos: "server-kill" } } });
  for await (const _ of compute.waitCompute({ id: spawned.compute!.id }, { timeoutMs: 20_000 })) { /* until ready */ }

  let stop = false;
  let answered = 0;
  const load = Array.from({ length: 10 }, async () => {
    while (!stop) {
      await client.execute({ tool: "spin", args: { ms: 20 } }, { timeoutMs: 5_000 }).then(() => answered++, () => undefined);
    }
  });
  // Kill once the load is flowing (a call answered proves workers are busy).
  while (answered < 20) await client.execute({ tool: "echo" }, { timeoutMs: 5_000 });
  const before = processesMentioning(dataDir).filter((pid) => pid !== first.child.pid);
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
  const met = survivors.length === 0 && restartError === "" && before.length >= 3;
  return {
    id: "server.sigkill",
    what: "SIGKILL the server while 10 clients keep its 2 workers busy and a local compute runs; then restart it on the same port and data dir",
    counts: { processes_started: before.length, alive_after_2s: survivors.length, gone_ms: Math.round(goneMs), restart_serving_ms: Math.round(servingMs) },
    figure: `${before.length} processes it started gone ${Number.isFinite(goneMs) ? `${Math.round(goneMs)} ms` : "NOT within 2 s"} after the kill; the restarted server answered its first call ${Math.round(servingMs)} ms after launch`,
    goal: "no Python process of it alive 2 s later; a restart on the same port and data dir serves at once",
    met,
    notes,
  };
}
