import { createLogger } from "../../server/src/log/index.js";
import { createPool } from "../../server/src/pool/index.js";
import { PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { createChannel, createClient } from "nice-grpc";
import { niceGrpcDefinition } from "../../conformance/src/grpc/nice-grpc-definition.js";
import { type BenchOptions, type BenchResult, closedLoop, median, PYTHON, round, sequential, startChild, stopChild } from "../lib.js";

const ARGS = { text: "hello", n: 1 };
const WORKERS = 2;

/**
 * The worker link against the transport Snakepit uses: the same `echo` tool
 * behind a Python grpcio server called with nice-grpc, versus an in-process
 * pool of 2 workers. Rounds alternate between the two.
 */
export async function linkBenchmarks(o: BenchOptions): Promise<BenchResult[]> {
  const seqN = o.quick ? 1_000 : 5_000;
  const loadMs = o.quick ? 2_000 : 5_000;
  const pool = await createPool({ name: "bench", size: WORKERS }, { logger: createLogger("silent") });
  await pool.ready();
  // A fair baseline: one grpcio server process per worker (as Snakepit runs
  // them), the client spreading calls over them as the pool spreads its own.
  const grpcio = await Promise.all(Array.from({ length: WORKERS }, () => startChild(PYTHON, ["bench/baselines/grpcio_echo.py"])));
  const channels = grpcio.map((g) => createChannel(String(g.info.url).replace("http://", "")));
  const baselines = channels.map((channel) => createClient(niceGrpcDefinition(PoolService), channel));
  let next = 0;
  const ours = () => pool.execute("echo", ARGS);
  const theirs = () => baselines[next++ % baselines.length]!.execute({ tool: "echo", args: ARGS });
  for (let i = 0; i < 500; i++) {
    await ours();
    await theirs();
  }
  const lat = { ours: [] as number[], base: [] as number[], oursP99: [] as number[], baseP99: [] as number[] };
  const tput = { ours: [] as number[], base: [] as number[] };
  for (let r = 0; r < o.rounds; r++) {
    const b = await sequential(seqN, theirs);
    const a = await sequential(seqN, ours);
    lat.base.push(median(b));
    lat.ours.push(median(a));
    lat.baseP99.push(b[Math.floor(b.length * 0.99)]!);
    lat.oursP99.push(a[Math.floor(a.length * 0.99)]!);
    tput.base.push((await closedLoop(16, loadMs, theirs)).opsPerSecond);
    tput.ours.push((await closedLoop(16, loadMs, ours)).opsPerSecond);
    o.log(`link round ${r + 1}: p50 ${lat.ours.at(-1)!.toFixed(3)} ms vs ${lat.base.at(-1)!.toFixed(3)} ms; ${Math.round(tput.ours.at(-1)!)} vs ${Math.round(tput.base.at(-1)!)} ops/s`);
  }
  for (const channel of channels) channel.close();
  for (const g of grpcio) await stopChild(g.child);
  await pool.close(1_000);
  const oursP50 = median(lat.ours);
  const baseP50 = median(lat.base);
  const oursOps = median(tput.ours);
  const baseOps = median(tput.base);
  return [
    {
      id: "link.throughput",
      what: "in-process pool.execute(\"echo\"), 2 workers, 16 in flight, vs 2 grpcio server processes (one per worker) called with nice-grpc, calls spread over both",
      value: Math.round(oursOps),
      unit: "ops/s",
      baseline: Math.round(baseOps),
      ratio: round(oursOps / baseOps, 2),
      goal: "ratio >= 10",
      met: oursOps / baseOps >= 10,
    },
    {
      id: "link.latency",
      what: "the same, sequential, p50 (ratio = baseline p50 / ours)",
      value: round(oursP50),
      unit: "ms",
      baseline: round(baseP50),
      ratio: round(baseP50 / oursP50, 2),
      goal: "ratio >= 10",
      met: baseP50 / oursP50 >= 10,
      p50_ms: round(oursP50),
      p99_ms: round(median(lat.oursP99)),
    },
  ];
}
