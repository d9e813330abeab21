import { createLogger } from "../../server/src/log/index.js";
import { createPool } from "../../server/src/pool/index.js";
import { type BenchOptions, type BenchResult, round } from "../lib.js";

function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

/** Server heap per session: N sessions created and each used once (a call pinned to a worker). */
export async function sessionBenchmarks(o: BenchOptions): Promise<BenchResult[]> {
  if (!(globalThis as { gc?: unknown }).gc) throw new Error("run the benchmarks with node --expose-gc");
  const n = o.quick ? 20_000 : 100_000;
  const pool = await createPool({ name: "sessions", size: 2, maxSessions: n + 10 }, { logger: createLogger("silent") });
  await pool.ready();
  for (let i = 0; i < 200; i++) await pool.execute("echo", {});
  const before = heap();
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < n) {
      next++;
      const session = pool.createSession({});
      await pool.execute("echo", { i: next }, { sessionId: session.id });
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  const after = heap();
  const perSession = (after - before) / n;
  const open = pool.stats().sessions;
  await pool.close(1_000);
  o.log(`sessions: ${n} created and used in ${seconds.toFixed(1)} s; ${Math.round(perSession)} bytes of heap each; ${open} open`);
  return [{
    id: "sessions.scale",
    what: `${n.toLocaleString("en")} sessions created and used once, server heap per session`,
    value: Math.round(perSession),
    unit: "bytes",
    goal: "< 2048 bytes",
    met: perSession < 2_048,
    notes: `${n} sessions in ${round(seconds, 1)} s (${Math.round(n / seconds)} session calls/s)`,
  }];
}
