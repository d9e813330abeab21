import { Writable } from "node:stream";
import type { JsonObject } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { ToolErrorSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/error_pb";
import { HealthCheckResponse_ServingStatus, Health } from "@pyfleet/sdk/gen/grpc/health/v1/health_pb";
import { createClient } from "@connectrpc/connect";
import type { PoolEvent } from "../../../server/src/pool/index.js";
import { byScale, type ChaosOptions, type ChaosResult, codeOf, eventWithin, poolClient, startServer, transportFor } from "../lib.js";

/** One misbehaviour: the call that provokes it and what a clear answer looks like. */
interface Misbehaviour {
  name: string;
  call: { tool: string; args?: JsonObject };
  timeoutMs?: number;
  /** The status code the client must get ("OK" for success). */
  code: string;
  /** Must appear in the error message or the ToolError detail (the Python detail). */
  detail?: RegExp;
  /** The worker dies (or is killed) and must be replaced. */
  replacesWorker: boolean;
}

const FLOOD_LINES = 20_000;

const MISBEHAVIOURS: Misbehaviour[] = [
  { name: "os._exit(3) mid-call", call: { tool: "exit_now", args: { code: 3 } }, code: "UNAVAILABLE", detail: /exit code 3|code 3/, replacesWorker: true },
  { name: "SIGSEGV in native code", call: { tool: "segfault" }, code: "UNAVAILABLE", detail: /SIGSEGV/, replacesWorker: true },
  { name: `print() flood of ${FLOOD_LINES} lines to stdout`, call: { tool: "flood", args: { lines: FLOOD_LINES, stream: "stdout" } }, code: "OK", replacesWorker: false },
  { name: `print() flood of ${FLOOD_LINES} lines to stderr`, call: { tool: "flood", args: { lines: FLOOD_LINES, stream: "stderr" } }, code: "OK", replacesWorker: false },
  { name: "a tool that never returns and ignores cancellation", call: { tool: "hang" }, timeoutMs: 1_000, code: "DEADLINE_EXCEEDED", replacesWorker: true },
  { name: "a user-defined exception", call: { tool: "raise_custom" }, code: "UNKNOWN", detail: /CustomError[\s\S]*a custom failure[\s\S]*Traceback|Traceback[\s\S]*CustomError/, replacesWorker: false },
];

/** Counts log lines that carry user output, to prove prints reach the log (and not the link). */
class LogCounter extends Writable {
  floodLines = 0;
  lines = 0;
  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    const text = chunk.toString();
    for (const line of text.split("\n")) {
      if (!line) continue;
      this.lines++;
      // A log line carries a chunk of output: count the printed lines in it.
      this.floodLines += line.match(/flood line \d+ /g)?.length ?? 0;
    }
    done();
  }
}

/**
 * Tools that crash, flood, hang or raise, and an adapter that fails at
 * import: each gets a clear error with the Python detail, its worker is
 * replaced, prints never corrupt the link, and the server stays up.
 */
export async function toolsMisbehave(o: ChaosOptions): Promise<ChaosResult> {
  const rounds = byScale(o.scale, { test: 1, quick: 3, full: 10 });
  const size = 2;
  const logs = new LogCounter();
  const { server, close } = await startServer({
    logLevel: "info",
    pools: [
      { name: "chaos", size, adapter: "pyfleet_bridge.testing.chaos:ChaosAdapter", cancelGraceMs: 500 },
      { name: "broken", size: 1, adapter: "pyfleet_bridge.testing.broken_import:Adapter", circuitThreshold: 1, circuitCooldownMs: 60_000 },
    ],
    defaultPool: "chaos",
  }, { logDestination: logs, waitReady: false });
  const pool = server.pools.get("chaos");
  await pool.ready();
  const client = poolClient(server.url);
  const notes: string[] = [];
  const counts = { misbehaving_calls: 0, clear_errors: 0, workers_replaced: 0, follow_up_calls_ok: 0, flood_lines_logged: 0 };
  const replaceMs: number[] = [];

  const whole = () => {
    const s = pool.stats();
    return s.workersReady + s.workersBusy === size && s.workersStarting === 0;
  };

  for (let round = 0; round < rounds; round++) {
    for (const m of MISBEHAVIOURS) {
      counts.misbehaving_calls++;
      const died = m.replacesWorker ? eventWithin<PoolEvent>(pool.events, "event", (e) => e.kind === "worker.died", 10_000) : undefined;
      const started = performance.now();
      let code = "OK";
      let text = "";
      try {
        await client.execute({ ...m.call, pool: "chaos" }, { timeoutMs: m.timeoutMs ?? 30_000 });
      } catch (e) {
        const err = ConnectError.from(e);
        code = codeOf(err);
        const detail = err.findDetails(ToolErrorSchema)[0];
        text = `${err.rawMessage}\n${detail ? `${detail.type}: ${detail.message}\n${detail.traceback}` : ""}`;
      }
      const clear = code === m.code && (!m.detail || m.detail.test(text));
      if (clear) counts.clear_errors++;
      else notes.push(`${m.name}: got ${code} "${text.slice(0, 200)}", want ${m.code}${m.detail ? ` matching ${m.detail}` : ""}`);
      if (died) {
        const death = await died.then(() => true, () => false);
        if (!whole()) await eventWithin<PoolEvent>(pool.events, "event", () => whole(), 15_000).catch(() => undefined);
        if (death && whole()) {
          counts.workers_replaced++;
          replaceMs.push(performance.now() - started);
        } else notes.push(`${m.name}: worker ${death ? "died but was not replaced" : "did not die"}`);
      }
      // The link is intact and the pool serves: a follow-up call on every worker.
      const followUps = await Promise.all(Array.from({ length: size }, () => client.execute({ tool: "echo", args: { after: m.name }, pool: "chaos" }, { timeoutMs: 10_000 }).then(() => true, (e) => {
        notes.push(`follow-up after ${m.name}: ${codeOf(e)} ${(e as Error).message}`);
        return false;
      })));
      counts.follow_up_calls_ok += followUps.filter(Boolean).length;
    }
  }
  counts.flood_lines_logged = logs.floodLines;

  // An adapter that fails at import: the pool's circuit opens and calls say why.
  const brokenReady = await server.pools.get("broken").ready().then(() => "ready", (e: Error) => e.message);
  const brokenCall = await client.execute({ tool: "echo", pool: "broken" }, { timeoutMs: 10_000 }).then(() => "OK", (e) => `${codeOf(e)}: ${ConnectError.from(e).rawMessage}`);
  const importClear = /UNAVAILABLE|FAILED_PRECONDITION/.test(brokenCall) && /boom at import/.test(brokenCall);
  if (!importClear) notes.push(`import error: a call got "${brokenCall}" (ready: ${brokenReady})`);
  else notes.push(`import error at startup answers: ${brokenCall.split("\n")[0]!.slice(0, 160)}`);

  const health = await createClient(Health, transportFor(server.url)).check({ service: "pool:chaos" }).then((r) => r.status, () => -1);
  const serverUp = health === HealthCheckResponse_ServingStatus.SERVING;
  await close();

  const expectedFlood = 2 * FLOOD_LINES * rounds;
  if (counts.flood_lines_logged < expectedFlood) notes.push(`only ${counts.flood_lines_logged} of ${expectedFlood} printed lines reached the server log`);
  const expectedReplaced = rounds * MISBEHAVIOURS.filter((m) => m.replacesWorker).length;
  replaceMs.sort((a, b) => a - b);
  const met = counts.clear_errors === counts.misbehaving_calls && counts.workers_replaced === expectedReplaced
    && counts.follow_up_calls_ok === counts.misbehaving_calls * size && importClear && serverUp && counts.flood_lines_logged >= expectedFlood;
  return {
    id: "tools.misbehave",
    what: `${rounds} round(s) of: ${MISBEHAVIOURS.map((m) => m.name).join("; ")}; plus an adapter whose import raises`,
    counts: { ...counts, rounds, replace_ms_max: Math.round(replaceMs.at(-1) ?? 0) },
    figure: `${counts.clear_errors}/${counts.misbehaving_calls} answered with the expected code and Python detail; ${counts.workers_replaced}/${expectedReplaced} dead workers replaced (slowest ${Math.round(replaceMs.at(-1) ?? 0)} ms from the call); ${counts.flood_lines_logged} printed lines logged, link intact; import error reported; server ${serverUp ? "up" : "DOWN"}`,
    goal: "clear errors with the Python detail; stdout from user code never corrupts the link; the worker is replaced; the server stays up",
    met,
    notes,
  };
}
