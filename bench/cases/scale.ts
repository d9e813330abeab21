import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { ensureH2load, h2load } from "../h2load.js";
import { type BenchOptions, type BenchResult, buildServer, median, percentile, PYTHON, round, sequential, startChild, stopChild } from "../lib.js";

/*
 * Scale-out on one machine. `scale.processes`: unary Execute req/s at 50
 * connections (h2load, Connect JSON over HTTP/1.1, the e2e group's request)
 * from `pyfleet serve --processes 1` and `--processes 2`, in alternating
 * rounds. `forward.cost`: one connection's sequential session calls sent to
 * the process that owns the session, and to the other one, which forwards
 * each call one hop to the owner.
 */

const EXECUTE = "/pyfleet.pool.v1.PoolService/Execute";
const BODY = new TextEncoder().encode(JSON.stringify({ tool: "echo", args: { text: "hello", n: 1 } }));
type PoolClient = Client<typeof PoolService>;

/** `pyfleet serve --processes N` with the default pool (2 workers, split among the processes); resolves once every process's pool is ready. */
export async function serveProcesses(processes: number) {
  const env = { PYFLEET_PORT: "0", PYFLEET_DATA_DIR: mkdtempSync(join(tmpdir(), "pyfleet-bench-")), PYFLEET_PYTHON: PYTHON, PYFLEET_LOG_LEVEL: "info" };
  // The compiled server, as users run it (see buildServer); the cluster forks the same entry point.
  const args = ["server/bin/pyfleet.js", "serve", "--processes", String(processes)];
  // Each process's own address (where a replica's peers reach it): its /metrics are its own.
  const addresses: string[] = [];
  const started = await startChild("node", args, env, (info) => Boolean(info.url) && (processes === 1 ? info.ready === true : info.processes === processes), (line) => {
    if (typeof line.replica === "string" && line.component === "fleet" && typeof line.url === "string") addresses.push(line.url);
  });
  const url = String(started.info.url);
  const clients = await clientPerProcess(url, processes);
  return { ...started, url, clients, addresses };
}

/** Opens connections until one lands on each process with its pool ready; a client per replica id. */
async function clientPerProcess(url: string, processes: number): Promise<Map<string, PoolClient>> {
  const found = new Map<string, PoolClient>();
  for (let i = 0; found.size < processes; i++) {
    if (i > 2_000) throw new Error(`found ${found.size} of ${processes} processes ready`);
    const client = createClient(PoolService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
    let replica = "";
    const { pools } = await client.listPools({}, { onHeader: (h) => (replica = h.get("pyfleet-replica") ?? "") });
    if (pools.every((p) => p.ready) && !found.has(replica)) found.set(replica, client);
  }
  return found;
}

export async function processBenchmarks(o: BenchOptions): Promise<BenchResult[]> {
  o.log(`load generator: ${ensureH2load()}`);
  buildServer();
  const seconds = o.quick ? 3 : 8;
  const rounds = o.quick ? 1 : Math.max(3, o.rounds);
  const rps: Record<number, number[]> = { 1: [], 2: [] };
  const p99: Record<number, number[]> = { 1: [], 2: [] };
  let errors = 0;
  for (let r = 0; r < rounds; r++) {
    for (const n of [1, 2]) {
      const server = await serveProcesses(n);
      try {
        const result = await h2load({ url: `${server.url}${EXECUTE}`, h1: true, body: BODY, headers: { "content-type": "application/json" }, connections: 50, seconds });
        rps[n]!.push(result.rps);
        p99[n]!.push(result.p99_ms);
        errors += result.errors;
        o.log(`processes ${n}: ${Math.round(result.rps)} req/s, p99 ${round(result.p99_ms, 2)} ms`);
      } finally {
        await stopChild(server.child);
      }
    }
  }
  const one = median(rps[1]!);
  const two = median(rps[2]!);
  return [{
    id: "scale.processes",
    what: "Execute echo req/s at 50 connections (h2load, Connect JSON/HTTP 1.1), pyfleet serve --processes 2 vs --processes 1",
    value: Math.round(two),
    unit: "req/s",
    baseline: Math.round(one),
    ratio: round(two / one, 2),
    goal: "report (grows with cores; bounded on 2 cores shared with h2load and the workers)",
    met: true,
    p99_ms: round(median(p99[2]!), 2),
    errors,
    notes: `--processes 1: ${Math.round(one)} req/s (p99 ${round(median(p99[1]!), 2)} ms); median of ${rounds} alternating rounds of ${seconds} s; default pool of 2 workers split 1+1`,
  }];
}

export async function forwardBenchmarks(o: BenchOptions): Promise<BenchResult[]> {
  const calls = o.quick ? 500 : 3_000;
  buildServer();
  const server = await serveProcesses(2);
  try {
    const [[owner, onOwner], [, onOther]] = [...server.clients.entries()] as [[string, PoolClient], [string, PoolClient]];
    const sessionId = (await onOwner.createSession({})).session!.id;
    if (!sessionId.endsWith(`.${owner}`)) throw new Error(`session ${sessionId} is not owned by ${owner}`);
    const call = (client: PoolClient) => () => client.execute({ tool: "echo", argsJson: '{"n":1}', resultAsJson: true, sessionId });
    for (let i = 0; i < 200; i++) {
      await call(onOwner)();
      await call(onOther)();
    }
    // Alternating halves, so drift in the machine's speed lands on both.
    const direct: number[] = [];
    const hop: number[] = [];
    for (let half = 0; half < 4; half++) {
      direct.push(...(await sequential(calls / 4, call(onOwner))));
      hop.push(...(await sequential(calls / 4, call(onOther))));
    }
    direct.sort((a, b) => a - b);
    hop.sort((a, b) => a - b);
    const p50Direct = percentile(direct, 0.5);
    const p50Hop = percentile(hop, 0.5);
    o.log(`session call p50: ${round(p50Direct, 3)} ms at the owner, ${round(p50Hop, 3)} ms through the other process`);
    return [{
      id: "forward.cost",
      what: "a session call (Execute echo, one connection, sequential) through a non-owner process: added p50 latency of the hop",
      value: round(p50Hop - p50Direct, 3),
      unit: "ms",
      baseline: round(p50Direct, 3),
      goal: "report (one loopback HTTP/2 round trip plus a decode and encode)",
      met: true,
      p50_ms: round(p50Hop, 3),
      p99_ms: round(percentile(hop, 0.99), 3),
      notes: `${calls} calls each way; at the owner p50 ${round(p50Direct, 3)} ms p99 ${round(percentile(direct, 0.99), 3)} ms; through the other p50 ${round(p50Hop, 3)} ms`,
    }];
  } finally {
    await stopChild(server.child);
  }
}
