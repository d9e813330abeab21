import type { WorkerState } from "./worker.js";

const WINDOW = 1024;

/** Told of each call a worker ran: its tool, time queued and time running (ms), and whether it returned. */
export type CallObserver = (tool: string, queuedMs: number, ranMs: number, ok: boolean) => void;

/** A pool's counters and a sliding window of recent call latencies. */
export class PoolCounters {
  callsTotal = 0;
  retries = 0;
  restarts = 0;
  readonly errorsByCode = new Map<string, number>();
  /** Autoscaling decisions by "direction:reason" ("up:load", "down:idle", ...). */
  readonly scaleEvents = new Map<string, number>();
  private readonly latencies = new Float64Array(WINDOW);
  private recorded = 0;
  /** Metrics' per-tool histograms (one observer: the server's metrics). */
  observer: CallObserver | undefined;

  /** A call ran on a worker and ended: returned (`ok`), or raised. */
  ran(tool: string, queuedMs: number, ranMs: number, ok: boolean): void {
    if (ok) this.latency(queuedMs + ranMs);
    this.observer?.(tool, queuedMs, ranMs, ok);
  }

  latency(ms: number): void {
    this.latencies[this.recorded % WINDOW] = ms;
    this.recorded++;
  }

  error(code: string): void {
    this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + 1);
  }

  scaled(direction: "up" | "down", reason: string): void {
    const key = `${direction}:${reason}`;
    this.scaleEvents.set(key, (this.scaleEvents.get(key) ?? 0) + 1);
  }

  /** Median and 99th percentile of the recent window, in ms (0 before any call). */
  percentiles(): { p50: number; p99: number } {
    const n = Math.min(this.recorded, WINDOW);
    if (n === 0) return { p50: 0, p99: 0 };
    const sorted = this.latencies.slice(0, n).sort();
    const at = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))]!;
    return { p50: at(0.5), p99: at(0.99) };
  }
}

export interface PoolStatsSnapshot {
  pool: string;
  workersStarting: number;
  workersReady: number;
  workersBusy: number;
  workersDraining: number;
  workersRemote: number;
  queueDepth: number;
  inFlight: number;
  restarts: number;
  retries: number;
  callsTotal: number;
  errorsByCode: Record<string, number>;
  sessions: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  circuitOpen: boolean;
  /** Local workers the pool aims to have: size, or its autoscaling's last decision. */
  workersDesired: number;
  /** Autoscaling decisions by "direction:reason" ("up:load", "down:idle", ...). */
  scaleEvents: Record<string, number>;
}

export interface WorkerSummary {
  id: string;
  pid: number;
  state: WorkerState;
  remote: boolean;
  group: string | undefined;
  hostname: string;
  inFlight: number;
  callsDone: number;
  /** Resident memory at the last heartbeat (0 before the first). */
  rssBytes: number;
}
