import { createLogger } from "../../server/src/log/index.js";
import { createPool } from "../../server/src/pool/index.js";
import { type BenchOptions, type BenchResult, median, pssBytes, round } from "../lib.js";


/** Start-up time and memory, spawn mode against fork mode. */
export async function startupBenchmarks(o: BenchOptions): Promise<BenchResult[]> {
  const rounds = o.quick ? 1 : o.rounds;
  const slow = { spawn: [] as number[], fork: [] as number[] };
  const plain: number[] = [];
  const plainSpawn: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const mode of ["spawn", "fork"] as const) {
      const pool = await createPool({ name: `slow-${mode}`, size: 8, startMode: mode, adapter: "pyfleet_bridge.testing.slow_import:SlowImportAdapter", env: { PYFLEET_TEST_IMPORT_SECONDS: "1" } }, { logger: createLogger("silent") });
      const start = performance.now();
      await pool.ready();
      slow[mode].push(performance.now() - start);
      await pool.close(1_000);
    }
    for (const [mode, sink] of [["auto", plain], ["spawn", plainSpawn]] as const) {
      const start = performance.now();
      const pool = await createPool({ name: `plain-${mode}`, size: 16, startMode: mode }, { logger: createLogger("silent") });
      await pool.ready();
      sink.push(performance.now() - start);
      await pool.close(1_000);
    }
    o.log(`startup round ${r + 1}: 8 slow workers spawn ${Math.round(slow.spawn.at(-1)!)} ms, fork ${Math.round(slow.fork.at(-1)!)} ms; 16 sample workers ${Math.round(plain.at(-1)!)} ms (spawn ${Math.round(plainSpawn.at(-1)!)} ms)`);
  }
  const spawnMs = median(slow.spawn);
  const forkMs = median(slow.fork);
  const plainMs = median(plain);
  return [
    {
      id: "startup.fork",
      what: "8 workers of an adapter whose import takes 1 s of CPU, time to ready, spawn mode vs fork mode",
      value: Math.round(forkMs),
      unit: "ms",
      baseline: Math.round(spawnMs),
      ratio: round(spawnMs / forkMs, 2),
      goal: "ratio >= 3",
      met: spawnMs / forkMs >= 3,
    },
    {
      id: "startup.plain",
      what: "16 workers of the sample adapter (start mode auto, the default: forked, as the sample is safe to fork), time to ready",
      value: Math.round(plainMs),
      unit: "ms",
      goal: "< 1000 ms",
      met: plainMs < 1_000,
      notes: `spawn mode: ${Math.round(median(plainSpawn))} ms`,
    },
  ];
}

/** Proportional set size of 8 workers whose adapter holds 200 MB from import, spawn vs fork. */
export async function memoryBenchmarks(o: BenchOptions): Promise<BenchResult[]> {
  const total: Record<"spawn" | "fork", number> = { spawn: 0, fork: 0 };
  for (const mode of ["spawn", "fork"] as const) {
    const pool = await createPool({ name: `big-${mode}`, size: 8, startMode: mode, startupConcurrency: 2, adapter: "pyfleet_bridge.testing.big_import:BigImportAdapter", env: { PYFLEET_TEST_IMPORT_MB: "200" } }, { logger: createLogger("silent") });
    await pool.ready();
    // Every worker has served a call, as in real use.
    await Promise.all(Array.from({ length: 8 }, () => pool.execute("weights_mb")));
    total[mode] = pool.localPids().reduce((sum, pid) => sum + pssBytes(pid), 0);
    await pool.close(1_000);
  }
  o.log(`memory: spawn ${Math.round(total.spawn / 2 ** 20)} MiB PSS, fork ${Math.round(total.fork / 2 ** 20)} MiB PSS`);
  return [{
    id: "memory.fork",
    what: "total PSS of 8 workers of an adapter that allocates 200 MB at import (fork: template included), spawn vs fork",
    value: Math.round(total.fork / 2 ** 20),
    unit: "MiB",
    baseline: Math.round(total.spawn / 2 ** 20),
    ratio: round(total.spawn / total.fork, 2),
    goal: "ratio >= 3",
    met: total.spawn / total.fork >= 3,
  }];
}

