import type { JsonObject } from "@bufbuild/protobuf";
import { createLogger } from "../../server/src/log/index.js";
import { createPool, type PoolConfigInput } from "../../server/src/pool/index.js";
import { type BenchOptions, type BenchResult, closedLoop, median, round } from "../lib.js";

/** Concurrent callers, each calling one item at a time in a closed loop. */
export const CALLERS = 64;

export interface BatchMeasurement {
  batchedOps: number;
  singleOps: number;
  p50: number;
  p99: number;
  errors: number;
  /** The mean number of calls per batch the tool saw (from its results' `size`). */
  meanBatch: number;
  rounds: string[];
}

/**
 * One pool, the same work as a batch tool and as a plain tool, CALLERS
 * callers in a closed loop; rounds alternate, figures are medians. A tool's
 * result carries `size`, the batch it ran in.
 */
export async function measureBatching(o: BenchOptions, config: PoolConfigInput, tools: { batched: string; single: string }, args: JsonObject): Promise<BatchMeasurement> {
  const loadMs = o.quick ? 2_000 : 5_000;
  const pool = await createPool(config, { logger: createLogger("silent") });
  try {
    await pool.ready();
    let items = 0;
    let weighted = 0;
    const batched = async () => {
      const r = (await pool.execute(tools.batched, args)) as { size: number };
      items++;
      weighted += 1 / r.size; // a batch of s contributes 1/s per call: sums to the number of batches
    };
    const single = () => pool.execute(tools.single, args);
    await closedLoop(CALLERS, 300, single);
    await closedLoop(CALLERS, 300, batched);
    const b: number[] = [];
    const s: number[] = [];
    const p50: number[] = [];
    const p99: number[] = [];
    const rounds: string[] = [];
    let errors = 0;
    for (let r = 0; r < o.rounds; r++) {
      const one = await closedLoop(CALLERS, loadMs, single);
      items = 0;
      weighted = 0;
      const many = await closedLoop(CALLERS, loadMs, batched);
      s.push(one.opsPerSecond);
      b.push(many.opsPerSecond);
      p50.push(many.latencies[Math.floor(many.latencies.length / 2)] ?? 0);
      p99.push(many.latencies[Math.floor(many.latencies.length * 0.99)] ?? 0);
      errors += one.errors + many.errors;
      rounds.push(`${Math.round(many.opsPerSecond)} vs ${Math.round(one.opsPerSecond)} (mean batch ${round(items / Math.max(1, weighted), 1)})`);
      o.log(`${tools.batched} round ${r + 1}: batched ${rounds.at(-1)} ops/s`);
    }
    return {
      batchedOps: median(b),
      singleOps: median(s),
      p50: median(p50),
      p99: median(p99),
      errors,
      meanBatch: items / Math.max(1, weighted),
      rounds,
    };
  } finally {
    await pool.close(2_000);
  }
}

/**
 * `batch.throughput`: a forward pass costing about 2 ms per invocation plus
 * 0.02 ms per item (the tool sleeps, as a process waiting on a GPU does), on
 * one worker (one model, as on one GPU), as the batch tool `forward`
 * (batch_size 32, batch_wait_ms 2) vs `forward_one`, one call per pass.
 */
export async function batchBenchmarks(o: BenchOptions): Promise<BenchResult[]> {
  const m = await measureBatching(o, { name: "batch", size: 1, adapter: "pyfleet_bridge.testing.batching:BatchAdapter" },
    { batched: "forward", single: "forward_one" }, { x: 1 });
  const ratio = m.batchedOps / m.singleOps;
  return [{
    id: "batch.throughput",
    what: `${CALLERS} concurrent callers of a ~2 ms + 0.02 ms/item forward pass on 1 worker: batch tool (batch_size 32, batch_wait_ms 2) vs the same pass per call`,
    value: Math.round(m.batchedOps),
    unit: "ops/s",
    baseline: Math.round(m.singleOps),
    ratio: round(ratio, 2),
    goal: "ratio >= 8",
    met: ratio >= 8,
    p50_ms: round(m.p50),
    p99_ms: round(m.p99),
    errors: m.errors,
    notes: `mean batch ${round(m.meanBatch, 1)} calls; rounds (batched vs per call, ops/s): ${m.rounds.join("; ")}`,
  }];
}
