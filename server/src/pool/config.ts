import { z } from "zod";
import { poolDefaults as d } from "../config/defaults.js";
import { formatIssues } from "../config/issues.js";
import { PyfleetError } from "../errors.js";

const int = (min: number) => z.number().int().min(min);

/** A pool's settings: the one definition used by YAML config and by createPool alike. */
export const poolConfigSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit").describe("The pool's name: 1-63 lowercase letters, digits, '-' or '_'; requests name it in `pool`."),
  adapter: z.string().regex(/^[A-Za-z_][\w.]*:[A-Za-z_]\w*$/, 'must look like "package.module:Class"').default(d.adapter).describe("The adapter class the workers serve, as \"package.module:Class\"."),
  python: z.string().min(1).optional().describe("The Python the workers run with; it must import pyfleet_bridge and the adapter. Default: PYFLEET_PYTHON, else python3 on PATH."),
  size: int(0).optional().describe("A fixed number of local worker processes (default 2); 0 for a pool served only by dial-in workers. Not with minSize/maxSize."),
  minSize: int(0).optional().describe("Autoscaling: the fewest local workers (default 1; 0 scales to zero). Needs maxSize."),
  maxSize: int(1).optional().describe("Autoscaling: the most local workers; setting it makes the pool grow and shrink with load."),
  targetInflight: int(1).optional().describe("Autoscaling: calls (queued plus in flight) per worker the pool aims for. Default: concurrency."),
  scaleUpDelayMs: int(0).default(d.scaleUpDelayMs).describe("Autoscaling: milliseconds the load must stay above target before workers start."),
  scaleDownDelayMs: int(0).default(d.scaleDownDelayMs).describe("Autoscaling: milliseconds a worker must be idle before it is retired."),
  concurrency: int(1).default(d.concurrency).describe("Calls each worker runs at once."),
  startupConcurrency: int(1).default(d.startupConcurrency).describe("Workers starting at the same time."),
  startMode: z.enum(["auto", "spawn", "fork"]).default(d.startMode).describe("fork (import once in a template, fork workers copy-on-write), spawn (a process each), or auto: fork when the template finds it safe."),
  startupTimeoutMs: int(1).default(d.startupTimeoutMs).describe("A worker not ready after this many milliseconds is killed."),
  queueMaxSize: int(0).default(d.queueMaxSize).describe("Calls waiting beyond this get RESOURCE_EXHAUSTED at once."),
  queueTimeoutMs: int(0).default(d.queueTimeoutMs).describe("A call without a deadline gives up waiting for a worker after this many milliseconds."),
  callTimeoutMs: int(0).default(d.callTimeoutMs).describe("Default deadline of every call in milliseconds; 0 = none."),
  maxCallsPerWorker: int(0).default(d.maxCallsPerWorker).describe("Recycle a worker after this many calls; 0 = never."),
  maxWorkerAgeMs: int(0).default(d.maxWorkerAgeMs).describe("Recycle a worker after this many milliseconds; 0 = never."),
  maxWorkerRssMb: int(0).default(d.maxWorkerRssMb).describe("Recycle a worker whose process uses more memory (MB); 0 = never."),
  heartbeatIntervalMs: int(0).default(d.heartbeatIntervalMs).describe("Ping period in milliseconds; 0 disables heartbeats."),
  heartbeatMisses: int(1).default(d.heartbeatMisses).describe("Unanswered pings before the worker is killed."),
  cancelGraceMs: int(0).default(d.cancelGraceMs).describe("A cancelled call still running after this many milliseconds has its worker killed."),
  maxAttempts: int(1).default(d.maxAttempts).describe("Tries of an idempotent call whose worker died."),
  retryBackoffMs: int(0).default(d.retryBackoffMs).describe("First retry delay in milliseconds, doubling per attempt."),
  circuitThreshold: int(1).default(d.circuitThreshold).describe("Startup failures in a row that open the circuit (calls fail fast)."),
  circuitCooldownMs: int(0).default(d.circuitCooldownMs).describe("Milliseconds before an open circuit tries one worker again; doubles up to 60 s."),
  restartBackoffMs: int(0).default(d.restartBackoffMs).describe("Base restart delay in milliseconds once deaths exceed restartIntensity."),
  restartIntensity: int(1).default(d.restartIntensity).describe("Restarts per 10 s that happen without delay."),
  prefetch: int(0).default(d.prefetch).describe("Calls sent ahead to a busy worker so it starts the next at once; 0 turns prefetch off."),
  prefetchStealMs: int(0).default(d.prefetchStealMs).describe("A prefetched call waiting behind a call running this many milliseconds moves to an idle worker."),
  chunkWindow: int(1).default(d.chunkWindow).describe("Stream chunks in flight per call before Python waits for the reader."),
  sessionTtlMs: int(1000).default(d.sessionTtlMs).describe("Idle time-to-live in milliseconds of sessions that set none."),
  maxSessions: int(0).default(d.maxSessions).describe("Open sessions per pool."),
  maxVariables: int(0).default(d.maxVariables).describe("Variables per session."),
  maxVariableBytes: int(1).default(d.maxVariableBytes).describe("Size of one variable's value in bytes."),
  sessionSweepMs: int(1).default(d.sessionSweepMs).describe("How often expired sessions are removed, in milliseconds."),
  shutdownGraceMs: int(0).default(d.shutdownGraceMs).describe("Milliseconds running calls get when the pool closes."),
  gpus: z.array(z.union([int(0), z.string().regex(/^[\w-]+$/, "must be a CUDA device index or UUID")])).min(1).optional().describe("GPUs the pool's local workers share out (CUDA device indices or UUIDs); each worker gets its own CUDA_VISIBLE_DEVICES set."),
  gpusPerWorker: int(1).default(d.gpusPerWorker).describe("GPUs in each worker's set; size (or maxSize) * gpusPerWorker may not exceed the GPUs listed."),
  threads: int(1).optional().describe("OMP/MKL/OpenBLAS/numexpr/vecLib threads per worker. Default: cores / size (or maxSize), at least 1."),
  env: z.record(z.string(), z.string()).default({}).describe("Extra environment variables for the workers; they win over what threads sets."),
  cwd: z.string().optional().describe("Working directory of the workers. Default: the server's."),
}).strict().superRefine((pool, ctx) => {
  checkScaling(pool, ctx);
  if (!pool.gpus) return;
  const sizeKey = pool.maxSize === undefined ? "size" : "maxSize";
  const most = pool.maxSize ?? pool.size ?? d.size;
  const need = most * pool.gpusPerWorker;
  if (need > pool.gpus.length) {
    ctx.addIssue({ code: "custom", path: ["gpus"],
      message: `${sizeKey} ${most} * gpusPerWorker ${pool.gpusPerWorker} needs ${need} GPUs but gpus lists ${pool.gpus.length}; lower ${sizeKey} or gpusPerWorker, or list more gpus (a pool never shares a GPU between its workers)` });
  }
  if (new Set(pool.gpus.map(String)).size !== pool.gpus.length) {
    ctx.addIssue({ code: "custom", path: ["gpus"], message: "lists a GPU twice; each GPU may be listed once" });
  }
  if (pool.startMode === "fork") {
    ctx.addIssue({ code: "custom", path: ["startMode"],
      message: "fork cannot give each worker its own CUDA_VISIBLE_DEVICES (forked workers inherit the template's environment); with gpus use spawn or auto (auto spawns)" });
  }
  if ("CUDA_VISIBLE_DEVICES" in pool.env) {
    ctx.addIssue({ code: "custom", path: ["env", "CUDA_VISIBLE_DEVICES"], message: "conflicts with gpus, which sets it per worker; remove one of them" });
  }
});

type ParsedPool = z.output<typeof poolConfigSchema>;

/** size and minSize/maxSize are two ways to say how many workers: one or the other, consistent. */
function checkScaling(pool: { size?: number; minSize?: number; maxSize?: number; targetInflight?: number }, ctx: z.RefinementCtx) {
  const issue = (key: string, message: string) => ctx.addIssue({ code: "custom", path: [key], message });
  const { size, minSize, maxSize, targetInflight } = pool;
  if (size !== undefined) {
    const other = minSize !== undefined ? "minSize" : maxSize !== undefined ? "maxSize" : undefined;
    if (other) {
      issue(other, `cannot be set with size: size ${size} fixes the pool at ${size} workers, minSize/maxSize let it grow and shrink with load; remove size or ${other}`);
      return;
    }
  }
  if (maxSize === undefined) {
    if (minSize !== undefined) issue("minSize", "needs maxSize (the most workers the pool may grow to); for a fixed number of workers set size instead");
    if (targetInflight !== undefined) issue("targetInflight", "applies to an autoscaling pool only; set minSize and maxSize too, or remove it");
    return;
  }
  if (minSize !== undefined && minSize > maxSize) issue("minSize", `${minSize} is above maxSize ${maxSize}; the pool cannot keep more workers than it may have`);
}

export type PoolConfigInput = z.input<typeof poolConfigSchema>;

/** A pool's settings with every default filled in, the worker bounds resolved from size or minSize/maxSize. */
export type PoolConfig = Omit<ParsedPool, "size" | "minSize" | "maxSize" | "targetInflight"> & {
  python: string;
  /** The fewest local workers: size for a fixed pool; 0 scales to zero. */
  minSize: number;
  /** The most local workers: size for a fixed pool. */
  maxSize: number;
  /** Calls (queued plus in flight) per worker an autoscaling pool aims for. */
  targetInflight: number;
  /** minSize < maxSize: the pool grows and shrinks with load. */
  autoscale: boolean;
};
export type StartMode = PoolConfig["startMode"];

/**
 * The Python to run workers with when a pool names none: PYFLEET_PYTHON, else
 * `python3` on PATH. (A checkout's `npm start`, `npm test` and vitest point
 * PYFLEET_PYTHON at the repository's .venv.)
 */
export function defaultPython(): string {
  return process.env.PYFLEET_PYTHON || "python3";
}

/** Fills in defaults and checks every field; errors name the field and say what fits. */
export function resolvePoolConfig(input: PoolConfigInput): PoolConfig {
  const parsed = poolConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new PyfleetError("invalid_argument", `pool "${String(input.name)}": ${formatIssues("", parsed.error.issues)}`);
  }
  const { size, minSize, maxSize, targetInflight, ...rest } = parsed.data;
  const most = maxSize ?? size ?? d.size;
  // Without minSize an autoscaling pool keeps one worker warm: scaling to zero is asked for, not a default.
  const least = maxSize === undefined ? most : minSize ?? Math.min(1, most);
  return {
    ...rest,
    python: parsed.data.python ?? defaultPython(),
    minSize: least,
    maxSize: most,
    targetInflight: targetInflight ?? rest.concurrency,
    autoscale: least < most,
  };
}
