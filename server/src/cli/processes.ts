import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import { poolDefaults, type ServerConfig } from "../config/index.js";
import { PyfleetError } from "../errors.js";
import type { Logger } from "../log/index.js";

/** What a process of `serve --processes N` tells the primary once it listens. */
export interface ListeningMessage {
  pyfleet: "listening";
  url: string;
  replica: string;
}

/** Where the cluster tells a worker which process it is. */
export const PROCESS_ENV = { index: "PYFLEET_PROCESS_INDEX", count: "PYFLEET_PROCESSES" } as const;

const MAX_PROCESSES = 256;
/** A process that dies sooner than this after starting is restarted after RESTART_DELAY_MS, not at once (a crash loop must not spin). */
const QUICK_DEATH_MS = 5_000;
const RESTART_DELAY_MS = 1_000;

/** `--processes`: a count, or "auto" for one per core; undefined when not given. */
export function parseProcesses(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === "auto") return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PROCESSES) {
    throw new PyfleetError("invalid_argument", `--processes must be a number from 1 to ${MAX_PROCESSES}, or "auto" (one per core: ${availableParallelism()} here) (got "${value}")`);
  }
  return n;
}

/** Process `index` of `count`'s share of `size` workers: an even split, the remainder to the first processes, at least 1 (0 stays 0). */
export function workerShare(size: number, index: number, count: number): number {
  if (size === 0) return 0;
  return Math.max(1, Math.floor(size / count) + (index < size % count ? 1 : 0));
}

/**
 * The config of process `index` of `count`: each pool's workers split among
 * the processes (an autoscaling pool's minSize and maxSize alike; a minSize
 * left to its default stays at one per process).
 */
export function processConfig(config: ServerConfig, index: number, count: number): ServerConfig {
  return {
    ...config,
    pools: config.pools.map((p) => p.maxSize === undefined
      ? { ...p, size: workerShare(p.size ?? poolDefaults.size, index, count) }
      : { ...p, minSize: p.minSize === undefined ? undefined : workerShare(p.minSize, index, count), maxSize: workerShare(p.maxSize, index, count) }),
  };
}

/** This process's place in a `serve --processes N` cluster, when it is one of its workers. */
export function clusterProcess(env: NodeJS.ProcessEnv = process.env): { index: number; count: number } | undefined {
  if (!cluster.isWorker) return undefined;
  return { index: Number(env[PROCESS_ENV.index] ?? 0), count: Number(env[PROCESS_ENV.count] ?? 1) };
}

/**
 * The primary of `serve --processes N`: holds the port (Node's cluster hands
 * each accepted connection to a worker, round-robin on Linux), runs N
 * workers, each a full server (a replica on the shared store), restarts one
 * that dies, and on SIGINT/SIGTERM stops them all and exits once they have.
 * Workers exit by themselves if the primary dies (cluster closes their IPC
 * channel), and their Python workers follow their parent.
 */
export function runPrimary(count: number, logger: Logger): void {
  const workers = new Map<number, Worker>();
  const listening = new Map<number, ListeningMessage>();
  let stopping = false;
  let announced = false;
  let exitCode = 0;

  const fork = (index: number) => {
    const started = { at: Date.now(), listened: false };
    const worker = cluster.fork({ [PROCESS_ENV.index]: String(index), [PROCESS_ENV.count]: String(count) });
    workers.set(index, worker);
    worker.on("message", (message: ListeningMessage) => {
      if (message?.pyfleet !== "listening") return;
      listening.set(index, message);
      started.listened = true;
      if (!announced && listening.size === count) {
        announced = true;
        logger.info({ url: message.url, processes: count, replicas: [...listening.values()].map((m) => m.replica) }, `pyfleet listening on ${message.url} (${count} processes)`);
      }
    });
    worker.on("exit", (code, signal) => {
      workers.delete(index);
      listening.delete(index);
      if (stopping) {
        if (workers.size === 0) {
          logger.info("pyfleet stopped");
          process.exit(exitCode);
        }
        return;
      }
      if (!started.listened && !announced) {
        // It never served (a bad config, the port taken): starting it again would fail the same way.
        logger.error({ process: index, code, signal }, `process ${index} failed to start; stopping`);
        exitCode = 1;
        stop("SIGTERM");
        return;
      }
      const quick = Date.now() - started.at < QUICK_DEATH_MS;
      logger.error({ process: index, code, signal }, `process ${index} exited (${signal ?? `code ${code}`}); starting another${quick ? ` in ${RESTART_DELAY_MS} ms` : ""}`);
      if (quick) setTimeout(() => !stopping && fork(index), RESTART_DELAY_MS);
      else fork(index);
    });
  };

  function stop(signal: NodeJS.Signals) {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${signal}: stopping ${workers.size} processes`);
    if (workers.size === 0) process.exit(exitCode);
    for (const worker of workers.values()) worker.process.kill("SIGTERM");
  }
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  for (let i = 0; i < count; i++) fork(i);
}
