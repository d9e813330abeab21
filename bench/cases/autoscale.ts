import { createLogger } from "../../server/src/log/index.js";
import { createPool, type Pool, type PoolConfigInput } from "../../server/src/pool/index.js";
import { type BenchOptions, type BenchResult, median, percentile, round } from "../lib.js";

const MAX = 4;
const CALLERS = 32;
/** The tool's cost: a sleep, so the burst measures scaling, not this machine's two cores. */
const CALL_SECONDS = 0.02;
const SCALE_UP_DELAY_MS = 200;

interface Burst {
  /** From the first call of the burst to the moment the last of maxSize workers was ready. */
  toMaxMs: number;
  latencies: number[];
  errors: number;
  seconds: number;
}

/**
 * CALLERS callers call back to back for `ms` against `pool`; also times when
 * the pool first has `MAX` workers serving.
 */
async function burst(pool: Pool, ms: number): Promise<Burst> {
  const serving = () => pool.workerSummaries().filter((w) => w.state === "ready" || w.state === "busy").length;
  const start = performance.now();
  let toMaxMs = serving() >= MAX ? 0 : Number.NaN;
  const onEvent = () => {
    if (Number.isNaN(toMaxMs) && serving() >= MAX) toMaxMs = performance.now() - start;
  };
  pool.events.on("event", onEvent);
  const latencies: number[] = [];
  let errors = 0;
  const end = start + ms;
  await Promise.all(Array.from({ length: CALLERS }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        await pool.execute("sleep", { seconds: CALL_SECONDS }, { timeoutMs: 10_000 });
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  }));
  pool.events.off("event", onEvent);
  return { toMaxMs, latencies: latencies.sort((a, b) => a - b), errors, seconds: (performance.now() - start) / 1000 };
}

async function withPool<T>(config: PoolConfigInput, fn: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = await createPool(config, { logger: createLogger("silent") });
  try {
    await pool.ready();
    return await fn(pool);
  } finally {
    await pool.close(1_000);
  }
}

/**
 * autoscale.burst: a pool idling at one worker (minSize 1, maxSize 4, fork
 * mode) meets 32 callers at once; how long until all 4 workers serve, and the
 * p99 of the calls made during the burst, beside the same burst on a fixed
 * pool of 4 warm workers (the baseline).
 */
export async function autoscaleBenchmarks(o: BenchOptions): Promise<BenchResult[]> {
  const rounds = o.quick ? 1 : o.rounds;
  const burstMs = o.quick ? 1_500 : 3_000;
  const scaled: Burst[] = [];
  const fixed: Burst[] = [];
  for (let r = 0; r < rounds; r++) {
    scaled.push(await withPool({ name: "burst-auto", minSize: 1, maxSize: MAX, scaleUpDelayMs: SCALE_UP_DELAY_MS, scaleDownDelayMs: 60_000 }, (pool) => burst(pool, burstMs)));
    fixed.push(await withPool({ name: "burst-fixed", size: MAX }, (pool) => burst(pool, burstMs)));
    o.log(`autoscale round ${r + 1}: all ${MAX} workers serving ${Math.round(scaled.at(-1)!.toMaxMs)} ms after the burst began; p99 ${Math.round(percentile(scaled.at(-1)!.latencies, 0.99))} ms (fixed pool of ${MAX}: ${Math.round(percentile(fixed.at(-1)!.latencies, 0.99))} ms)`);
  }
  const toMax = median(scaled.map((b) => b.toMaxMs));
  const all = (bursts: Burst[]) => bursts.flatMap((b) => b.latencies).sort((a, b) => a - b);
  const p99 = percentile(all(scaled), 0.99);
  const fixedP99 = percentile(all(fixed), 0.99);
  const goalMs = SCALE_UP_DELAY_MS + 1_000;
  return [{
    id: "autoscale.burst",
    what: `${CALLERS} callers at once (a ${CALL_SECONDS * 1000} ms tool) on a pool idling at 1 worker (maxSize ${MAX}, scaleUpDelayMs ${SCALE_UP_DELAY_MS}, forked): time until all ${MAX} workers serve; baseline and ratio: p99 of the burst's calls on a fixed pool of ${MAX} warm workers against the autoscaling pool's`,
    value: Math.round(toMax),
    unit: "ms",
    baseline: round(fixedP99, 1),
    ratio: round(fixedP99 / p99, 2),
    goal: `< ${goalMs} ms (scaleUpDelayMs + 1 s)`,
    met: toMax < goalMs,
    p50_ms: round(percentile(all(scaled), 0.5), 1),
    p99_ms: round(p99, 1),
    errors: scaled.reduce((n, b) => n + b.errors, 0),
    notes: `${rounds} round(s) of ${burstMs} ms; burst p99 ${round(p99, 1)} ms on the autoscaling pool, ${round(fixedP99, 1)} ms on a fixed pool of ${MAX}; ${scaled.reduce((n, b) => n + b.latencies.length, 0)} calls`,
  }];
}
