import { create, toBinary } from "@bufbuild/protobuf";
import { ExecuteManyRequestSchema, ExecuteRequestSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { ensureH2load, h2load, type H2loadResult, SIZING_MARGIN, warmAndSize } from "../h2load.js";
import { type BenchOptions, type BenchResult, buildServer, median, round, runLoad, startPyfleet, stopChild } from "../lib.js";
import { peersPython, startConnectEcho, startFastApi, startNodeRaw, startNodeRawH2, startRay } from "../peers.js";
import { serveProcesses } from "./scale.js";

/*
 * The whole server beside its peers, all serving the same echo, all driven by
 * h2load (a C load generator on one thread, so the figures measure servers,
 * not a Node client): pyfleet Execute over Connect JSON / HTTP/1.1, Connect
 * proto / h2c and gRPC / h2c; FastAPI + uvicorn (2 workers), Node's raw
 * HTTP/1.1 and HTTP/2 servers, a bare connect-node server and Ray Serve
 * (2 replicas). Rounds alternate (ours, a peer, ours, another peer, ...); a
 * figure is the median of its rounds.
 *
 * Two phases. Ray Serve's idle cluster (raylet, GCS, proxy) keeps taking CPU
 * on this 2-core machine, which slowed every other server measured beside it,
 * so phase 1 measures everything but Ray with Ray not running, and phase 2
 * starts Ray (the other peers stopped) and alternates pyfleet and Ray rounds
 * for `e2e.vs_ray` and `peer.ray` only.
 *
 * A 50-connection row sends a fixed number of requests sized from a short
 * warm-up (h2load -n, see warmAndSize), not a duration: a duration's end cuts
 * the streams in flight, which h2load and the server count as failures. So
 * every failure counts: h2load's non-2xx answers and unfinished requests, and
 * pyfleet's own /metrics count of Execute errors (gRPC and Connect errors
 * arrive with HTTP 200), CANCELED included.
 *
 * ExecuteMany is measured twice: through the SDK (`e2e.pipeline`, as users
 * call it, with the Node client sharing the two cores) and by h2load
 * (`e2e.pipeline.h2load`), which shows how much of the figure is the client.
 */

const EXECUTE = "/pyfleet.pool.v1.PoolService/Execute";
const ARGS = { text: "hello", n: 1 };
const JSON_BODY = new TextEncoder().encode(JSON.stringify({ tool: "echo", args: ARGS }));
const PROTO_BODY = toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { tool: "echo", args: ARGS }));

function envelope(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  new DataView(out.buffer).setUint32(1, data.length);
  out.set(data, 5);
  return out;
}

const KINDS = {
  json: { h1: true, body: JSON_BODY, headers: { "content-type": "application/json" } },
  jsonH2: { h1: false, body: JSON_BODY, headers: { "content-type": "application/json" } },
  proto: { h1: false, body: PROTO_BODY, headers: { "content-type": "application/proto" } },
  grpc: { h1: false, body: envelope(PROTO_BODY), headers: { "content-type": "application/grpc", te: "trailers" } },
};

/**
 * Execute calls pyfleet answered with an error, from its own counters (gRPC
 * errors arrive as HTTP 200). CANCELED counts too: the runs send a fixed
 * number of requests and wait for every answer, so no call is cut by the
 * load generator.
 */
async function rpcErrors(urls: string[]): Promise<number> {
  const text = (await Promise.all(urls.map(async (url) => (await fetch(`${url}/metrics`)).text()))).join("\n");
  let n = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("pyfleet_rpc_requests_total{") && line.includes(`method="pyfleet.pool.v1.PoolService/Execute"`) && !line.includes(`code="ok"`)) {
      const count = Number(line.split(" ").at(-1));
      n += count;
      const code = /code="([^"]+)"/.exec(line)?.[1] ?? "?";
      // Which codes they were, for the notes: a count alone cannot say whether the server or the harness failed.
      errorCodes.set(code, count);
    }
  }
  return n;
}

/** The server's counts of Execute errors by code, as last read (over the whole run, warm-ups included). */
const errorCodes = new Map<string, number>();

/**
 * ExecuteMany as h2load can send it: each request a whole stream of
 * MANY_CALLS echo calls, in messages of 16 calls (as the SDK batches them),
 * arguments and results as JSON text, answers packed up to 64 a message.
 */
const MANY_CALLS = 256;
const MANY_BODY = (() => {
  const parts: Uint8Array[] = [];
  for (let first = 0; first < MANY_CALLS; first += 16) {
    const calls = Array.from({ length: 16 }, (_, i) => ({ id: String(first + i), tool: "echo", argsJson: JSON.stringify(ARGS), resultAsJson: true }));
    parts.push(envelope(toBinary(ExecuteManyRequestSchema, create(ExecuteManyRequestSchema, { calls, maxAnswersPerMessage: 64 }))));
  }
  return Buffer.concat(parts);
})();

/** The pool's counters (every call, however it came), summed over the servers' /metrics. */
async function poolCounters(urls: string[]): Promise<{ calls: number; errors: number }> {
  const out = { calls: 0, errors: 0 };
  for (const url of urls) {
    for (const line of (await (await fetch(`${url}/metrics`)).text()).split("\n")) {
      if (line.startsWith("pyfleet_pool_calls_total{")) out.calls += Number(line.split(" ").at(-1));
      else if (line.startsWith("pyfleet_pool_errors_total{")) out.errors += Number(line.split(" ").at(-1));
    }
  }
  return out;
}

type Figure = H2loadResult[];

export async function e2eBenchmarks(o: BenchOptions): Promise<BenchResult[]> {
  o.log(`load generator: ${ensureH2load()}`);
  const seconds = o.quick ? 3 : 8;
  const seqRequests = o.quick ? 1_000 : 1_500;
  const rounds = o.quick ? 1 : Math.max(3, o.rounds);
  const python = peersPython(o.log);

  buildServer();
  const server = await startPyfleet();
  const url = String(server.info.url);

  const figures: Record<string, Figure> = {};
  /** `ours`: pyfleet's own error counts are read from these servers' /metrics (each process's own, with --processes). */
  const measure = async (key: string, base: string, kind: keyof typeof KINDS, connections: number, ours: boolean | string[]) => {
    const metricsUrls = ours === true ? [base] : ours === false ? [] : ours;
    const shape = { url: `${base}${EXECUTE}`, ...KINDS[kind], connections };
    // One connection: a fixed count, as before. Fifty: warmed up, then a fixed count sized to ~`seconds`.
    let requests = connections === 1 ? seqRequests : await warmAndSize(shape, seconds);
    for (let attempt = 1; ; attempt++) {
      const before = await rpcErrors(metricsUrls);
      const r = await h2load({ ...shape, requests });
      if (metricsUrls.length > 0) {
        const failed = (await rpcErrors(metricsUrls)) - before;
        r.errors += failed;
        r.rps = r.ok > 0 ? r.rps * (Math.max(0, r.ok - failed) / r.ok) : 0;
      }
      // The server ran faster than its warm-up said (a busy machine that went quiet): once more, sized from this run.
      if (connections > 1 && attempt === 1 && r.errors === 0 && r.seconds < 0.8 * seconds) {
        o.log(`${key}: ${requests} requests took ${r.seconds.toFixed(1)} s, under ${seconds} s; measuring again`);
        requests = Math.ceil(r.rps * seconds * SIZING_MARGIN);
        continue;
      }
      (figures[key] ??= []).push(r);
      return r;
    }
  };
  const last = (key: string) => Math.round(figures[key]?.at(-1)?.rps ?? 0);

  // Phase 1: everything but Ray, with Ray not running.
  const fastapi = await startFastApi(python, 2);
  const nodeRaw = await startNodeRaw();
  const nodeH2 = await startNodeRawH2("stream");
  const nodeH2Compat = await startNodeRawH2("compat");
  const connectEcho = await startConnectEcho();
  const pipeline: Record<string, number>[] = [];
  /**
   * ExecuteMany driven by h2load, so that the load generator is not the
   * thing measured: one connection, two streams at once, each carrying
   * MANY_CALLS calls. A call counts once its stream finished 2xx; every call
   * the pool failed, and every call sent but never taken, is an error.
   */
  const pipelineH2load: { ops: number; errors: number }[] = [];
  const manyShape = { url: `${url}/pyfleet.pool.v1.PoolService/ExecuteMany`, h1: false, body: MANY_BODY, headers: { "content-type": "application/connect+proto" }, connections: 1, streams: 2 };
  const measureMany = async () => {
    const requests = await warmAndSize(manyShape, seconds);
    const before = await poolCounters([url]);
    const r = await h2load({ ...manyShape, requests });
    const after = await poolCounters([url]);
    // Which stream a failed call was on is not known: every call the pool failed or never took is
    // counted against the streams that ended 2xx (the conservative side), and each call is counted once.
    const failedInPool = after.errors - before.errors + Math.max(0, requests * MANY_CALLS - (after.calls - before.calls));
    const good = Math.max(0, r.ok * MANY_CALLS - failedInPool);
    return { ops: r.seconds > 0 ? good / r.seconds : 0, errors: requests * MANY_CALLS - good };
  };
  const stream: number[] = [];
  const firstChunk: Record<string, number>[] = [];
  for (let round_ = 0; round_ < rounds; round_++) {
    // Ours, a peer, ours, another peer: drift in the machine's speed lands on both sides.
    await measure("ours.json", url, "json", 50, true);
    await measure("fastapi.json", fastapi.url, "json", 50, false);
    await measure("ours.proto", url, "proto", 50, true);
    await measure("node.json", String(nodeRaw.info.url), "json", 50, false);
    await measure("nodeh2.proto", String(nodeH2.info.url), "proto", 50, false);
    await measure("ours.grpc", url, "grpc", 50, true);
    await measure("nodeh2compat.proto", String(nodeH2Compat.info.url), "proto", 50, false);
    await measure("connect.json", String(connectEcho.info.url), "json", 50, false);
    await measure("ours.seq", url, "json", 1, true);
    await measure("fastapi.seq", fastapi.url, "json", 1, false);
    await measure("connect.proto", String(connectEcho.info.url), "proto", 50, false);
    await measure("node.seq", String(nodeRaw.info.url), "json", 1, false);
    pipeline.push(await runLoad({ url, mode: "pipeline", ms: seconds * 1000, window: 256 }));
    pipelineH2load.push(await measureMany());
    stream.push((await runLoad({ url, mode: "stream", n: 100_000 })).chunksPerSecond!);
    firstChunk.push(await runLoad({ url, mode: "first-chunk", n: o.quick ? 30 : 100 }));
    o.log(`e2e round ${round_ + 1}/${rounds}: pyfleet h1 ${last("ours.json")} / proto h2c ${last("ours.proto")} / gRPC ${last("ours.grpc")} req/s; FastAPI ${last("fastapi.json")}; node:http ${last("node.json")}; node:http2 ${last("nodeh2.proto")} (compat ${last("nodeh2compat.proto")}); connect-node ${last("connect.json")} / ${last("connect.proto")}; seq p50 ${figures["ours.seq"]!.at(-1)!.p50_ms.toFixed(3)} vs FastAPI ${figures["fastapi.seq"]!.at(-1)!.p50_ms.toFixed(3)} ms; pipeline ${Math.round(pipeline.at(-1)!.ops!)} ops/s (SDK), ${Math.round(pipelineH2load.at(-1)!.ops)} ops/s (h2load)`);
  }
  for (const peer of [nodeRaw, nodeH2, nodeH2Compat, connectEcho]) await stopChild(peer.child);

  // Phase 1b: `pyfleet serve --processes 2` over h2c beside FastAPI's 2 processes, the single-process server idle.
  const two = await serveProcesses(2);
  try {
    for (let round_ = 0; round_ < rounds; round_++) {
      await measure("ours2.proto", two.url, "proto", 50, two.addresses);
      await measure("fastapi.json.p2", fastapi.url, "json", 50, false);
      await measure("ours2.grpc", two.url, "grpc", 50, two.addresses);
      o.log(`e2e --processes 2 round ${round_ + 1}/${rounds}: proto h2c ${last("ours2.proto")} / gRPC ${last("ours2.grpc")} req/s; FastAPI ${last("fastapi.json.p2")}`);
    }
  } finally {
    await stopChild(two.child);
    await stopChild(fastapi.child);
  }

  // Phase 2: Ray Serve, alone beside pyfleet. If it does not start, phase 1's rows stand.
  let ray: Awaited<ReturnType<typeof startRay>> | undefined;
  let rayProblem = "";
  try {
    ray = await startRay(python, 2);
  } catch (e) {
    rayProblem = (e as Error).message;
    o.log(`Ray Serve did not start: ${rayProblem}`);
  }
  if (ray) {
    try {
      for (let round_ = 0; round_ < rounds; round_++) {
        await measure("ours.json.ray", url, "json", 50, true);
        await measure("ray.json", ray.url, "json", 50, false);
        o.log(`e2e Ray round ${round_ + 1}/${rounds}: pyfleet h1 ${last("ours.json.ray")} req/s; Ray Serve ${last("ray.json")}`);
      }
    } finally {
      await stopChild(ray.child);
      ray.stop();
    }
  }
  await stopChild(server.child);

  const rps = (key: string) => median((figures[key] ?? []).map((r) => r.rps));
  const p50 = (key: string) => median((figures[key] ?? []).map((r) => r.p50_ms));
  const p99 = (key: string) => median((figures[key] ?? []).map((r) => r.p99_ms));
  const errors = (...keys: string[]) => keys.reduce((n, key) => n + (figures[key] ?? []).reduce((m, r) => m + r.errors, 0), 0);
  const spread = (key: string) => (figures[key] ?? []).map((r) => Math.round(r.rps)).join(", ");
  const durations = (...keys: string[]) => {
    const all = keys.flatMap((key) => (figures[key] ?? []).map((r) => r.seconds));
    return all.length ? `${Math.min(...all).toFixed(1)}-${Math.max(...all).toFixed(1)} s` : "none";
  };
  const h1 = rps("ours.json");
  const fast = rps("fastapi.json");
  const proto = rps("ours.proto");
  const grpc = rps("ours.grpc");
  const h2 = Math.min(proto, grpc);
  const proto2 = rps("ours2.proto");
  const grpc2 = rps("ours2.grpc");
  const h2Two = Math.min(proto2, grpc2);
  const fastTwo = rps("fastapi.json.p2");
  const nodeH2Rps = rps("nodeh2.proto");
  const nodeH2CompatRps = rps("nodeh2compat.proto");
  const h1Ray = rps("ours.json.ray");
  const rayRps = rps("ray.json");
  const pipe = median(pipeline.map((p) => p.ops!));
  const pipeErrors = pipeline.reduce((n, p) => n + (p.errors ?? 0), 0);
  const pipeH2load = median(pipelineH2load.map((p) => p.ops));
  const pipeH2loadErrors = pipelineH2load.reduce((n, p) => n + p.errors, 0);
  const chunks = median(stream);
  const first = median(firstChunk.map((f) => f.p50_ms!));
  const loaded = durations(...Object.keys(figures).filter((key) => !key.endsWith(".seq")));
  o.log(`e2e: the 50-connection runs lasted ${loaded}`);
  const oursKeys = ["ours.json", "ours.proto", "ours.grpc", "ours.seq", "ours.json.ray", "ours2.proto", "ours2.grpc"];
  const oursErrors = errors(...oursKeys);
  const per = `${rounds} alternating rounds, 50 connections, one request in flight on each, ~${seconds} s of load each (a fixed request count sized from a warm-up); medians`;
  const rayAlone = "Ray runs only in its own phase, after the other peers are measured and stopped: its idle cluster (raylet, GCS, proxy) keeps using CPU, which slowed every server measured beside it on this 2-core machine";
  const peer = (id: string, what: string, key: string, extra = ""): BenchResult => ({
    id, what, value: Math.round(rps(key)), unit: "req/s", goal: "reference (no goal)", met: true,
    p50_ms: round(p50(key)), p99_ms: round(p99(key)), errors: errors(key), notes: `rounds: ${spread(key)}${extra}`,
  });
  const ofNodeH2 = (x: number) => (nodeH2Rps > 0 ? (x / nodeH2Rps).toFixed(2) : "n/a");
  const rows: BenchResult[] = [
    {
      id: "e2e.unary.h1",
      what: `Execute, Connect JSON over HTTP/1.1 (h2load --h1), vs FastAPI + uvicorn (2 workers) on the same echo; ${per}`,
      value: Math.round(h1), unit: "req/s", baseline: Math.round(fast), ratio: round(h1 / fast, 2),
      goal: "ratio >= 1.5 (done at >= 1.0)", met: h1 / fast >= 1.5,
      p50_ms: round(p50("ours.json")), p99_ms: round(p99("ours.json")), errors: errors("ours.json"),
      notes: `done level (>= 1.0x): ${h1 / fast >= 1 ? "met" : "not met"}; rounds ${spread("ours.json")} vs ${spread("fastapi.json")}`,
    },
    {
      id: "e2e.unary.h2",
      what: `Execute over h2c, Connect proto and gRPC (framed body, te: trailers), the lower of the two, vs FastAPI's HTTP/1.1 figure; ${per}`,
      value: Math.round(h2), unit: "req/s", baseline: Math.round(fast), ratio: round(h2 / fast, 2),
      goal: "ratio >= 1.5 (done at >= 1.0)", met: h2 / fast >= 1.5,
      p50_ms: round(Math.max(p50("ours.proto"), p50("ours.grpc"))), p99_ms: round(Math.max(p99("ours.proto"), p99("ours.grpc"))), errors: errors("ours.proto", "ours.grpc"),
      notes: `done level (>= 1.0x): ${h2 / fast >= 1 ? "met" : "not met"}; Connect proto ${Math.round(proto)} req/s (rounds ${spread("ours.proto")}), gRPC ${Math.round(grpc)} req/s (rounds ${spread("ours.grpc")}); `
        + `against node:http2's raw echo over h2c (peer.node_raw_h2, ${Math.round(nodeH2Rps)} req/s, the ceiling of any Node HTTP/2 front; uvicorn serves no HTTP/2): Connect proto ${ofNodeH2(proto)}x, gRPC ${ofNodeH2(grpc)}x; `
        + `sequential p50: FastAPI ${p50("fastapi.seq").toFixed(3)} ms, node:http raw ${p50("node.seq").toFixed(3)} ms`,
    },
    {
      id: "e2e.unary.h2.processes",
      what: `e2e.unary.h2 with pyfleet serve --processes 2 (one Node process per core, as uvicorn runs 2 worker processes; the pool's 2 Python workers split 1+1), in a phase of its own beside FastAPI; ${per}`,
      value: Math.round(h2Two), unit: "req/s", baseline: Math.round(fastTwo), ratio: round(h2Two / fastTwo, 2),
      goal: "reference for e2e.unary.h2 (judged there, on one process)", met: true,
      p50_ms: round(Math.max(p50("ours2.proto"), p50("ours2.grpc"))), p99_ms: round(Math.max(p99("ours2.proto"), p99("ours2.grpc"))), errors: errors("ours2.proto", "ours2.grpc"),
      notes: `Connect proto ${Math.round(proto2)} req/s (rounds ${spread("ours2.proto")}), gRPC ${Math.round(grpc2)} req/s (rounds ${spread("ours2.grpc")}); FastAPI in the same phase ${Math.round(fastTwo)} req/s (rounds ${spread("fastapi.json.p2")}); at or above FastAPI (>= 1.0x): ${h2Two / fastTwo >= 1 ? "yes" : "no"}`,
    },
    {
      id: "e2e.latency",
      what: `one connection, sequential Execute (Connect JSON, HTTP/1.1, ${seqRequests} requests), p50 vs FastAPI's p50 (ratio = FastAPI / ours)`,
      value: round(p50("ours.seq")), unit: "ms", baseline: round(p50("fastapi.seq")), ratio: round(p50("fastapi.seq") / p50("ours.seq"), 2),
      goal: "p50 <= FastAPI's p50 (ratio >= 1)", met: p50("ours.seq") <= p50("fastapi.seq"),
      p50_ms: round(p50("ours.seq")), p99_ms: round(p99("ours.seq")), errors: errors("ours.seq"),
      notes: `node:http raw p50 ${p50("node.seq").toFixed(3)} ms (the floor)`,
    },
    {
      id: "e2e.vs_ray",
      what: `Execute (Connect JSON, HTTP/1.1) vs Ray Serve (2 replicas) on the same echo, in a phase of their own; ${per}`,
      value: Math.round(ray ? h1Ray : h1), unit: "req/s", baseline: Math.round(rayRps), ratio: ray ? round(h1Ray / rayRps, 1) : 0,
      goal: "ratio >= 50", met: Boolean(ray) && h1Ray / rayRps >= 50, errors: errors(ray ? "ours.json.ray" : "ours.json"),
      notes: ray ? `pyfleet rounds ${spread("ours.json.ray")} vs Ray ${spread("ray.json")}; Ray errors ${errors("ray.json")}; ${rayAlone}` : `Ray Serve did not start: ${rayProblem}`,
    },
    {
      id: "e2e.tail",
      what: `Execute, 50 connections (Connect JSON, HTTP/1.1): p99 vs p50, and errors over every pyfleet e2e row (fixed request counts: no stream is cut, so every error is real)`,
      value: round(p99("ours.json") / p50("ours.json"), 2), unit: "p99/p50",
      goal: "p99 <= 3x p50; 0 errors", met: p99("ours.json") <= 3 * p50("ours.json") && oursErrors === 0,
      p50_ms: round(p50("ours.json")), p99_ms: round(p99("ours.json")), errors: oursErrors,
      notes: `Connect proto h2c p99/p50 ${(p99("ours.proto") / p50("ours.proto")).toFixed(2)}, gRPC ${(p99("ours.grpc") / p50("ours.grpc")).toFixed(2)}; server-side Execute errors by code over the run (warm-ups included): ${errorCodes.size ? JSON.stringify(Object.fromEntries(errorCodes)) : "none"}; the 50-connection runs (pyfleet's and the peers') lasted ${loaded} (sized at ${SIZING_MARGIN}x the warm-up's rate)`,
    },
    {
      id: "e2e.pipeline",
      what: `ExecuteMany (one stream, 256 calls outstanding, through the SDK), calls/s vs FastAPI's req/s`,
      value: Math.round(pipe), unit: "ops/s", baseline: Math.round(fast), ratio: round(pipe / fast, 2),
      goal: "ratio >= 5", met: pipe / fast >= 5, errors: pipeErrors,
      notes: `rounds ${pipeline.map((p) => Math.round(p.ops!)).join(", ")}; driven by h2load instead (e2e.pipeline.h2load): ${Math.round(pipeH2load)} calls/s, ${round(pipeH2load / fast, 2)}x`,
    },
    {
      id: "e2e.pipeline.h2load",
      what: `ExecuteMany driven by h2load (not a Node client on the same cores): one connection, 2 streams at once, each a whole stream of ${MANY_CALLS} echo calls in messages of 16; calls/s vs FastAPI's req/s`,
      value: Math.round(pipeH2load), unit: "ops/s", baseline: Math.round(fast), ratio: round(pipeH2load / fast, 2),
      goal: "reference for e2e.pipeline (judged there, through the SDK)", met: true, errors: pipeH2loadErrors,
      notes: `rounds ${pipelineH2load.map((p) => Math.round(p.ops)).join(", ")}; a stream's calls count once it ends 2xx; the pool's failed calls, and calls sent but never taken, are errors`,
    },
    {
      id: "stream.chunks",
      what: "ExecuteStream of count(100000) to a client, chunks/s; first chunk p50",
      value: Math.round(chunks), unit: "chunks/s",
      goal: ">= 100000 chunks/s; first chunk p50 < 5 ms", met: chunks >= 100_000 && first < 5,
      p50_ms: round(first), p99_ms: round(median(firstChunk.map((f) => f.p99_ms!))),
      notes: `first chunk p50 ${first.toFixed(2)} ms`,
    },
    peer("peer.fastapi", "FastAPI + uvicorn, 2 workers (uvloop, httptools), JSON echo over HTTP/1.1, 50 connections", "fastapi.json", `; sequential p50 ${p50("fastapi.seq").toFixed(3)} ms`),
    ...(ray ? [peer("peer.ray", "Ray Serve, 2 replicas, JSON echo over HTTP/1.1, 50 connections, in a phase of its own", "ray.json", `; ${rayAlone}`)] : []),
    peer("peer.node_raw", "node:http, raw JSON echo, no Python (Node's HTTP limit), HTTP/1.1, 50 connections", "node.json", `; sequential p50 ${p50("node.seq").toFixed(3)} ms`),
    peer("peer.node_raw_h2", "node:http2 core stream API (stream.respond / stream.end), raw echo, no Python (Node's HTTP/2 limit), h2c, pyfleet's Connect proto body and headers, 50 connections", "nodeh2.proto",
      `; compatibility API (createServer(handler), req/res) ${Math.round(nodeH2CompatRps)} req/s (rounds ${spread("nodeh2compat.proto")}, errors ${errors("nodeh2compat.proto")}); node:http over HTTP/1.1 ${Math.round(rps("node.json"))} req/s in the same rounds`),
    peer("peer.connect_echo", "bare connect-node echo (bench/peers/connect-echo.ts), no Python, Connect JSON over HTTP/1.1, 50 connections", "connect.json", `; Connect proto over h2c ${Math.round(rps("connect.proto"))} req/s`),
  ];
  return rows;
}
