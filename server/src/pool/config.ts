import { z } from "zod";
import { poolDefaults as d } from "../config/defaults.js";
import { formatIssues } from "../config/issues.js";
import { PyfleetError } from "../errors.js";

const int = (min: number) => z.number().int().min(min);

/** A pool's settings: the one definition used by YAML config and by createPool alike. */
export const poolConfigSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit"),
  adapter: z.string().regex(/^[A-Za-z_][\w.]*:[A-Za-z_]\w*$/, 'must look like "package.module:Class"').default(d.adapter),
  /** Default: PYFLEET_PYTHON, else python3 on PATH. */
  python: z.string().min(1).optional(),
  /** 0 is allowed: a pool served only by dial-in workers. */
  size: int(0).default(d.size),
  concurrency: int(1).default(d.concurrency),
  startupConcurrency: int(1).default(d.startupConcurrency),
  startMode: z.enum(["auto", "spawn", "fork"]).default(d.startMode),
  startupTimeoutMs: int(1).default(d.startupTimeoutMs),
  queueMaxSize: int(0).default(d.queueMaxSize),
  queueTimeoutMs: int(0).default(d.queueTimeoutMs),
  callTimeoutMs: int(0).default(d.callTimeoutMs),
  maxCallsPerWorker: int(0).default(d.maxCallsPerWorker),
  maxWorkerAgeMs: int(0).default(d.maxWorkerAgeMs),
  maxWorkerRssMb: int(0).default(d.maxWorkerRssMb),
  heartbeatIntervalMs: int(0).default(d.heartbeatIntervalMs),
  heartbeatMisses: int(1).default(d.heartbeatMisses),
  cancelGraceMs: int(0).default(d.cancelGraceMs),
  maxAttempts: int(1).default(d.maxAttempts),
  retryBackoffMs: int(0).default(d.retryBackoffMs),
  circuitThreshold: int(1).default(d.circuitThreshold),
  circuitCooldownMs: int(0).default(d.circuitCooldownMs),
  restartBackoffMs: int(0).default(d.restartBackoffMs),
  restartIntensity: int(1).default(d.restartIntensity),
  prefetch: int(0).default(d.prefetch),
  prefetchStealMs: int(0).default(d.prefetchStealMs),
  chunkWindow: int(1).default(d.chunkWindow),
  sessionTtlMs: int(1000).default(d.sessionTtlMs),
  maxSessions: int(0).default(d.maxSessions),
  maxVariables: int(0).default(d.maxVariables),
  maxVariableBytes: int(1).default(d.maxVariableBytes),
  sessionSweepMs: int(1).default(d.sessionSweepMs),
  shutdownGraceMs: int(0).default(d.shutdownGraceMs),
  /** GPUs the pool's workers share out (CUDA device indices or UUIDs); none: the workers see the server's. */
  gpus: z.array(z.union([int(0), z.string().regex(/^[\w-]+$/, "must be a CUDA device index or UUID")])).min(1).optional(),
  gpusPerWorker: int(1).default(d.gpusPerWorker),
  /** OMP/MKL/OpenBLAS/numexpr/vecLib threads per worker; default cores / size, at least 1. */
  threads: int(1).optional(),
  /** Extra environment variables for the workers. */
  env: z.record(z.string(), z.string()).default({}),
  /** Working directory of the workers; default the server's. */
  cwd: z.string().optional(),
}).strict().superRefine((pool, ctx) => {
  if (!pool.gpus) return;
  const need = pool.size * pool.gpusPerWorker;
  if (need > pool.gpus.length) {
    ctx.addIssue({ code: "custom", path: ["gpus"],
      message: `size ${pool.size} * gpusPerWorker ${pool.gpusPerWorker} needs ${need} GPUs but gpus lists ${pool.gpus.length}; lower size or gpusPerWorker, or list more gpus (a pool never shares a GPU between its workers)` });
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

export type PoolConfigInput = z.input<typeof poolConfigSchema>;
export type PoolConfig = z.output<typeof poolConfigSchema> & { python: string };
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
  return { ...parsed.data, python: parsed.data.python ?? defaultPython() };
}
