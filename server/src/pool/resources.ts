import { availableParallelism } from "node:os";
import type { PoolConfig } from "./config.js";

/**
 * The thread-pool variables of the native libraries Python models use
 * (OpenMP, MKL, OpenBLAS, numexpr, Apple's vecLib): each sizes its pool to
 * every core by default, so N workers would each start N threads.
 */
export const THREAD_VARIABLES = ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"] as const;

/**
 * Threads per worker: the pool's `threads`, else this machine's cores shared
 * by its local workers (as many as it may have: maxSize), at least 1.
 */
function threadsPerWorker(config: Pick<PoolConfig, "threads" | "maxSize">, cores = availableParallelism()): number {
  return config.threads ?? Math.max(1, Math.floor(cores / Math.max(1, config.maxSize)));
}

/**
 * The environment a local worker (or the fork template) starts with, built
 * here only: thread limits, then its GPUs, then the pool's `env` (which
 * wins), then the link token.
 */
export function workerEnv(config: PoolConfig, gpus: readonly (string | number)[] | undefined, token: string): Record<string, string> {
  const threads = String(threadsPerWorker(config));
  const env: Record<string, string> = Object.fromEntries(THREAD_VARIABLES.map((name) => [name, threads]));
  // Device order as listed, so "cuda:0" in a worker is the first GPU it was given.
  if (gpus) Object.assign(env, { CUDA_VISIBLE_DEVICES: gpus.join(","), CUDA_DEVICE_ORDER: "PCI_BUS_ID" });
  return { ...env, ...config.env, PYFLEET_WORKER_TOKEN: token };
}

/**
 * A GPU pool's devices cut into sets of `gpusPerWorker`, each held by at
 * most one live worker. A freed set is handed out first, so the worker that
 * replaces a dead one gets its GPUs (and whatever the dead one left on them
 * is the replacement's to reuse, not another worker's to trip over).
 */
export class GpuSets {
  private readonly free: string[][] = [];
  private readonly held = new Map<string, string[]>();

  constructor(gpus: readonly (string | number)[], perWorker: number) {
    for (let i = 0; i + perWorker <= gpus.length; i += perWorker) this.free.push(gpus.slice(i, i + perWorker).map(String));
  }

  get available(): number {
    return this.free.length;
  }

  /** A set for `workerId`; undefined when every set is held (config validation makes size fit). */
  take(workerId: string): string[] | undefined {
    const set = this.free.shift();
    if (set) this.held.set(workerId, set);
    return set;
  }

  /** `workerId` is dead: its set goes to the front, for its replacement. */
  release(workerId: string): void {
    const set = this.held.get(workerId);
    if (!set) return;
    this.held.delete(workerId);
    this.free.unshift(set);
  }
}
