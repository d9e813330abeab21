import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config/index.js";
import { createLogger } from "../../src/log/index.js";
import { createPool, type Pool } from "../../src/pool/index.js";
import { THREAD_VARIABLES } from "../../src/pool/resources.js";
import { barrierSocket, nextEvent, startPool } from "./helpers.js";

const ADAPTER = "pyfleet_bridge.testing.environ:EnvironAdapter";
const NAMES = ["CUDA_VISIBLE_DEVICES", ...THREAD_VARIABLES];

interface Seen {
  pid: number;
  env: Record<string, string | null>;
}

/** What each of the pool's `size` workers sees: `size` calls that each wait at a barrier until all workers hold one. */
async function eachWorker(pool: Pool, size: number): Promise<Map<number, Record<string, string | null>>> {
  const barrier = await barrierSocket(size);
  const seen = await Promise.all(Array.from({ length: size }, () =>
    pool.execute("environ", { names: NAMES, barrier }, { timeoutMs: 30_000 }) as Promise<unknown> as Promise<Seen>));
  const byPid = new Map(seen.map((s) => [s.pid, s.env]));
  expect(byPid.size).toBe(size);
  return byPid;
}

// prefetch 0: a call waits in the pool, not behind another at a busy worker.
const gpuPool = { adapter: ADAPTER, size: 2, gpus: [0, 1, 2, 3], gpusPerWorker: 2, prefetch: 0, threads: 1 };

describe("GPUs per worker", () => {
  it("gives each worker its own CUDA_VISIBLE_DEVICES set, and a SIGKILLed worker's replacement the same set", async () => {
    const pool = await startPool(gpuPool);
    expect(pool.startModeInUse).toBe("auto: spawn");
    const before = await eachWorker(pool, 2);
    expect([...before.values()].map((env) => env.CUDA_VISIBLE_DEVICES).sort()).toEqual(["0,1", "2,3"]);

    const [victim, victimEnv] = [...before].find(([, env]) => env.CUDA_VISIBLE_DEVICES === "0,1")!;
    const replaced = nextEvent(pool, "worker.ready");
    process.kill(victim, "SIGKILL");
    await replaced;
    const after = await eachWorker(pool, 2);
    expect(after.has(victim)).toBe(false);
    const [, replacementEnv] = [...after].find(([pid]) => !before.has(pid))!;
    expect(replacementEnv).toEqual(victimEnv);
    expect([...after.values()].map((env) => env.CUDA_VISIBLE_DEVICES).sort()).toEqual(["0,1", "2,3"]);
  }, 60_000);

  it("refuses a pool that would share GPUs, or fork them, naming the keys", async () => {
    const logger = createLogger("silent");
    let refused: unknown;
    try {
      await createPool({ name: "g", adapter: ADAPTER, size: 3, gpus: [0, 1, 2, 3], gpusPerWorker: 2 }, { logger });
    } catch (e) {
      refused = e;
    }
    expect(refused).toMatchObject({
      code: "invalid_argument",
      message: 'pool "g": gpus: size 3 * gpusPerWorker 2 needs 6 GPUs but gpus lists 4; lower size or gpusPerWorker, or list more gpus (a pool never shares a GPU between its workers)',
    });
    expect(() => resolveConfig({ pools: [{ name: "g", size: 2, gpus: [0] }] })).toThrow(/pools\[0\]\.gpus: size 2 \* gpusPerWorker 1 needs 2 GPUs but gpus lists 1/);
    expect(() => resolveConfig({ pools: [{ name: "g", size: 1, gpus: [0, 0] }] })).toThrow(/pools\[0\]\.gpus: lists a GPU twice/);
    expect(() => resolveConfig({ pools: [{ name: "g", size: 1, gpus: [0], startMode: "fork" }] })).toThrow(/pools\[0\]\.startMode: fork cannot give each worker its own CUDA_VISIBLE_DEVICES/);
    expect(() => resolveConfig({ pools: [{ name: "g", size: 1, gpus: [0], env: { CUDA_VISIBLE_DEVICES: "1" } }] })).toThrow(/pools\[0\]\.env\.CUDA_VISIBLE_DEVICES: conflicts with gpus/);
    expect(resolveConfig({ pools: [{ name: "g", size: 2, gpus: [0, 1, 2], gpusPerWorker: 1 }] }).pools[0]).toMatchObject({ gpus: [0, 1, 2], gpusPerWorker: 1 });
  });
});

describe("threads per worker", () => {
  it("limits every native thread pool to cores / workers by default, through a fork template too", async () => {
    const pool = await startPool({ adapter: ADAPTER, size: 2, prefetch: 0 });
    const expected = String(Math.max(1, Math.floor(availableParallelism() / 2)));
    for (const env of (await eachWorker(pool, 2)).values()) {
      for (const name of THREAD_VARIABLES) expect(env[name], name).toBe(expected);
      expect(env.CUDA_VISIBLE_DEVICES).toBe(process.env.CUDA_VISIBLE_DEVICES ?? null);
    }
  }, 60_000);

  it("takes the pool's threads setting, and an explicit env variable over it", async () => {
    const pool = await startPool({ adapter: ADAPTER, size: 1, startMode: "spawn", threads: 3, env: { OMP_NUM_THREADS: "7" } });
    const [env] = (await eachWorker(pool, 1)).values();
    expect(env).toEqual({
      CUDA_VISIBLE_DEVICES: process.env.CUDA_VISIBLE_DEVICES ?? null,
      OMP_NUM_THREADS: "7", MKL_NUM_THREADS: "3", OPENBLAS_NUM_THREADS: "3", NUMEXPR_NUM_THREADS: "3", VECLIB_MAXIMUM_THREADS: "3",
    });
  }, 60_000);
});
