import type { EventEmitter } from "node:events";
import type { ToolSpec } from "@pyfleet/sdk/gen/pyfleet/pool/v1/tool_pb";
import { PyfleetError } from "../errors.js";
import type { Logger } from "../log/index.js";
import type { LogSink } from "../logs/index.js";
import { CircuitBreaker } from "./circuit.js";
import type { PoolConfig } from "./config.js";
import type { PoolEvent, PoolEventKind } from "./events.js";
import type { SessionRecord, SessionStore } from "./sessions/index.js";
import { PoolCounters } from "./stats.js";
import type { Worker } from "./worker.js";

const MAX_CIRCUIT_COOLDOWN_MS = 60_000;

/**
 * What every room of a pool shares (the scheduler, the supervisor, the
 * callbacks): its settings, workers, tools, sessions, counters, circuit and
 * events. It holds state and answers questions about it; it decides nothing.
 */
export class PoolCore {
  readonly name: string;
  readonly workers = new Map<string, Worker>();
  readonly counters = new PoolCounters();
  readonly circuit: CircuitBreaker;
  /** The tools the workers registered, by name (empty until the first is ready). */
  tools = new Map<string, ToolSpec>();
  /** Set once close() begins: no new calls or workers. */
  closing = false;

  constructor(
    readonly config: PoolConfig,
    readonly logger: Logger,
    readonly events: EventEmitter,
    readonly sessions: SessionStore,
    circuitHooks: { opened(): void; probe(): void },
    /** Where workers' output goes as records (WatchLogs), besides the server's log. */
    readonly logs?: LogSink,
  ) {
    this.name = config.name;
    this.circuit = new CircuitBreaker({
      threshold: config.circuitThreshold,
      cooldownMs: config.circuitCooldownMs,
      maxCooldownMs: MAX_CIRCUIT_COOLDOWN_MS,
    }, circuitHooks);
  }

  emit(kind: PoolEventKind, fields: Omit<PoolEvent, "kind" | "pool" | "time">): void {
    const event: PoolEvent = { kind, pool: this.name, time: Date.now(), ...fields };
    this.events.emit(kind, event);
    this.events.emit("event", event);
  }

  /** Workers serving calls (ready or busy), of one dial-in group if given. */
  countServing(group?: string): number {
    let n = 0;
    for (const w of this.workers.values()) if (w.serving && (group === undefined || w.group === group)) n++;
    return n;
  }

  hasServing(): boolean {
    for (const w of this.workers.values()) if (w.serving) return true;
    return false;
  }

  /** The circuit is open and no worker is left to run a call: waiting would be for nothing. */
  get stalled(): boolean {
    return this.circuit.open && !this.hasServing();
  }

  circuitError(): PyfleetError {
    const c = this.circuit;
    return new PyfleetError("unavailable", `pool "${this.name}" cannot start workers: ${c.lastError} (${c.failures} failures in a row); fix the adapter or its environment; the pool tries again every ${Math.round(c.cooldownMs / 1000)} s`);
  }

  closingError(): PyfleetError {
    return new PyfleetError("unavailable", `pool "${this.name}" is shutting down; retry on another server`);
  }

  assertOpen(): void {
    if (this.closing) throw this.closingError();
  }

  /** A session of `owner` by id, its TTL renewed (NOT_FOUND otherwise). */
  useSession(id: string, owner: string): SessionRecord {
    const session = this.sessions.get(id, owner);
    this.sessions.touch(session);
    return session;
  }
}
