/** Why an autoscaling pool changed size: the `reason` of its scale events and metrics. */
export type ScaleReason = "cold_start" | "load" | "idle";

/** One scale decision as events report it (WatchPool's ScaleDecision). */
export interface ScaleEvent {
  reason: ScaleReason;
  /** Workers the pool kept before the decision. */
  fromWorkers: number;
  /** Workers it keeps after it, within [minSize, maxSize]. */
  toWorkers: number;
  queueDepth: number;
  inFlight: number;
}

export interface AutoscaleSettings {
  minSize: number;
  maxSize: number;
  /** Calls (queued plus in flight) per worker to aim for. */
  targetInflight: number;
  scaleUpDelayMs: number;
  scaleDownDelayMs: number;
}

/** A local worker as the autoscaler sees it (draining and dead workers are left out). */
export interface WorkerLoad {
  id: string;
  /** Not ready yet: neither idle nor retirable. */
  starting: boolean;
  /** Since when (ms, Date.now()) it has had no call; undefined while it has one. */
  idleSince: number | undefined;
  /** Sessions pinned to it: such a worker is never retired, its sessions' state lives in it. */
  sessions: number;
}

/** What the pool looks like now. */
export interface PoolLoad {
  /** Workers the pool keeps (its last decision; a dead one is being replaced, so it still counts). */
  size: number;
  /** Calls waiting for a worker. */
  queued: number;
  /** Calls on the local workers, running or sent ahead. */
  inFlight: number;
  workers: readonly WorkerLoad[];
}

export type ScaleDecision =
  | { action: "hold" }
  | ({ action: "up" } & ScaleEvent)
  | ({ action: "down"; retire: string[] } & ScaleEvent);

/**
 * An autoscaling pool's decisions, from plain data: the load (calls queued
 * plus in flight), the workers and their idle times, and the clock. Load
 * above `targetInflight` per worker for `scaleUpDelayMs` grows the pool to
 * what the load asks for (at once from zero: a call is waiting); a worker
 * idle for `scaleDownDelayMs`, holding no session, is retired while the load
 * asks for fewer workers. Always within [minSize, maxSize]. It starts and
 * stops nothing itself; when a delay is pending it asks to be consulted
 * again (`recheck`) once it has passed.
 */
export class Autoscaler {
  /** Since when the load has asked for more workers than the pool keeps. */
  private pressureSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly settings: AutoscaleSettings,
    private readonly hooks: { recheck(): void },
  ) {}

  /** Workers the load asks for: one per `targetInflight` calls, within [minSize, maxSize]. */
  wanted(load: Pick<PoolLoad, "queued" | "inFlight">): number {
    const { minSize, maxSize, targetInflight } = this.settings;
    return Math.min(maxSize, Math.max(minSize, Math.ceil((load.queued + load.inFlight) / targetInflight)));
  }

  decide(load: PoolLoad, now = Date.now()): ScaleDecision {
    const { scaleUpDelayMs, scaleDownDelayMs } = this.settings;
    const want = this.wanted(load);
    const seen = { fromWorkers: load.size, queueDepth: load.queued, inFlight: load.inFlight };
    let recheckAt = Infinity;
    let decision: ScaleDecision = { action: "hold" };
    if (want > load.size) {
      if (load.size === 0) {
        // A call waits for the first worker: no delay; more follow if the load stays.
        this.pressureSince = now;
        decision = { action: "up", reason: "cold_start", toWorkers: 1, ...seen };
        if (want > 1) recheckAt = now + scaleUpDelayMs;
      } else {
        this.pressureSince ??= now;
        const due = this.pressureSince + scaleUpDelayMs;
        if (now >= due) {
          this.pressureSince = undefined;
          decision = { action: "up", reason: "load", toWorkers: want, ...seen };
        } else {
          recheckAt = due;
        }
      }
    } else {
      this.pressureSince = undefined;
      if (want < load.size) {
        const idle = load.workers
          .filter((w) => !w.starting && w.idleSince !== undefined && w.sessions === 0)
          .sort((a, b) => a.idleSince! - b.idleSince!);
        const retire: string[] = [];
        for (const w of idle) {
          if (retire.length >= load.size - want) break;
          const due = w.idleSince! + scaleDownDelayMs;
          if (now < due) {
            // Sorted by idle time: the others are due later still.
            recheckAt = due;
            break;
          }
          retire.push(w.id);
        }
        if (retire.length > 0) decision = { action: "down", reason: "idle", retire, toWorkers: load.size - retire.length, ...seen };
      }
    }
    this.schedule(recheckAt, now);
    return decision;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(at: number, now: number) {
    this.stop();
    if (at === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.hooks.recheck();
    }, Math.max(0, at - now));
    this.timer.unref();
  }
}

/** A decision in a sentence, for WatchPool messages and logs. */
export function describeScale(d: ScaleEvent, settings: AutoscaleSettings, retired?: string): string {
  const load = `${d.queueDepth} queued + ${d.inFlight} in flight`;
  switch (d.reason) {
    case "cold_start":
      return `a call came to a pool with no worker: starting one (${load}; minSize ${settings.minSize})`;
    case "load":
      return `${load} over ${d.fromWorkers} workers stayed above targetInflight ${settings.targetInflight} per worker for scaleUpDelayMs ${settings.scaleUpDelayMs}: ${d.fromWorkers} -> ${d.toWorkers} workers (maxSize ${settings.maxSize})`;
    case "idle":
      return `${retired ? `worker ${retired}` : "workers"} idle for scaleDownDelayMs ${settings.scaleDownDelayMs} with ${load}: ${d.fromWorkers} -> ${d.toWorkers} workers (minSize ${settings.minSize})`;
  }
}
