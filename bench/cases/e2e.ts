import { type BenchOptions, type BenchResult, median, round, runLoad, startEchoServer, startPyfleet, stopChild } from "../lib.js";

/**
 * The whole server over Connect binary HTTP/2, against a bare Connect echo
 * server on the same listener code (no pool), under the same load from a
 * separate process. Rounds alternate between the two.
 */
export async function e2eBenchmarks(o: BenchOptions): Promise<BenchResult[]> {
  const ms = o.quick ? 3_000 : 30_000;
  const rounds = o.quick ? 1 : Math.max(1, o.rounds - 1);
  const server = await startPyfleet();
  const echo = await startEchoServer();
  const url = String(server.info.url);
  const echoUrl = String(echo.info.url);
  const unary = { ours: [] as Record<string, number>[], base: [] as Record<string, number>[] };
  const seq = { ours: [] as Record<string, number>[], base: [] as Record<string, number>[] };
  const pipeline: number[] = [];
  const stream: number[] = [];
  const firstChunk: Record<string, number>[] = [];
  for (let r = 0; r < rounds; r++) {
    unary.base.push(await runLoad({ url: echoUrl, mode: "unary", clients: 50, ms }));
    unary.ours.push(await runLoad({ url, mode: "unary", clients: 50, ms }));
    seq.base.push(await runLoad({ url: echoUrl, mode: "sequential", n: o.quick ? 1_000 : 3_000 }));
    seq.ours.push(await runLoad({ url, mode: "sequential", n: o.quick ? 1_000 : 3_000 }));
    pipeline.push((await runLoad({ url, mode: "pipeline", ms: o.quick ? 3_000 : 10_000, window: 256 })).ops!);
    stream.push((await runLoad({ url, mode: "stream", n: 100_000 })).chunksPerSecond!);
    firstChunk.push(await runLoad({ url, mode: "first-chunk", n: o.quick ? 30 : 100 }));
    o.log(`e2e round ${r + 1}: unary ${Math.round(unary.ours.at(-1)!.ops!)} vs ${Math.round(unary.base.at(-1)!.ops!)} ops/s; p50 ${seq.ours.at(-1)!.p50_ms!.toFixed(3)} vs ${seq.base.at(-1)!.p50_ms!.toFixed(3)} ms; pipeline ${Math.round(pipeline.at(-1)!)} ops/s; stream ${Math.round(stream.at(-1)!)} chunks/s`);
  }
  await stopChild(server.child);
  await stopChild(echo.child);

  const pick = (rows: Record<string, number>[], key: string) => median(rows.map((row) => row[key]!));
  const oursOps = pick(unary.ours, "ops");
  const baseOps = pick(unary.base, "ops");
  const oursP50 = pick(unary.ours, "p50_ms");
  const oursP99 = pick(unary.ours, "p99_ms");
  const errorRate = unary.ours.reduce((s, r) => s + r.errors!, 0) / Math.max(1, unary.ours.reduce((s, r) => s + r.total!, 0));
  const seqOurs = pick(seq.ours, "p50_ms");
  const seqBase = pick(seq.base, "p50_ms");
  const pipe = median(pipeline);
  const chunks = median(stream);
  const first = pick(firstChunk, "p50_ms");
  return [
    {
      id: "e2e.unary",
      what: `Execute over Connect binary HTTP/2, 50 concurrent clients for ${ms / 1000} s, vs the bare echo server under the same load`,
      value: Math.round(oursOps),
      unit: "ops/s",
      baseline: Math.round(baseOps),
      ratio: round(oursOps / baseOps, 2),
      goal: "ratio >= 0.8; p99 <= 3x p50; errors < 0.1%",
      met: oursOps / baseOps >= 0.8 && oursP99 <= 3 * oursP50 && errorRate < 0.001,
      p50_ms: round(oursP50),
      p99_ms: round(oursP99),
      notes: `errors ${(errorRate * 100).toFixed(3)}%; p99/p50 ${(oursP99 / oursP50).toFixed(2)}`,
    },
    {
      id: "e2e.latency",
      what: "one client, sequential Execute, p50 vs the bare echo server's p50 (ratio = baseline / ours)",
      value: round(seqOurs),
      unit: "ms",
      baseline: round(seqBase),
      ratio: round(seqBase / seqOurs, 2),
      goal: "ratio >= 0.7",
      met: seqBase / seqOurs >= 0.7,
      p50_ms: round(seqOurs),
      p99_ms: round(pick(seq.ours, "p99_ms")),
    },
    {
      id: "e2e.pipeline",
      what: "ExecuteMany (one stream, 256 requests outstanding), ops/s vs e2e.unary",
      value: Math.round(pipe),
      unit: "ops/s",
      baseline: Math.round(oursOps),
      ratio: round(pipe / oursOps, 2),
      goal: "ratio >= 10",
      met: pipe / oursOps >= 10,
    },
    {
      id: "stream.chunks",
      what: "ExecuteStream of count(100000) to a client, chunks/s; first chunk p50",
      value: Math.round(chunks),
      unit: "chunks/s",
      goal: ">= 100000 chunks/s; first chunk p50 < 5 ms",
      met: chunks >= 100_000 && first < 5,
      p50_ms: round(first),
      p99_ms: round(pick(firstChunk, "p99_ms")),
      notes: `first chunk p50 ${first.toFixed(2)} ms`,
    },
  ];
}
