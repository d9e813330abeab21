import { EventEmitter } from "node:events";
import type { JsonValue } from "@bufbuild/protobuf";
import { ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { PyfleetError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { NO_TELEMETRY, type Telemetry } from "../telemetry/index.js";
import type { Provider } from "./provider.js";
import type { ComputeRecord, ComputeStore, JobRecord } from "./store/index.js";

/** Lets computes run pyfleet workers that dial into this server and join a pool. */
export interface WorkerGroupHost {
  /** The URL workers on this host dial (the listener's). */
  serverUrl(): string;
  /** The configured public URL (publicUrl, $PYFLEET_PUBLIC_URL) that workers elsewhere dial; undefined when unset. */
  publicUrl(): string | undefined;
  /** The adapter of a pool; undefined when there is no such pool. */
  poolAdapter(pool: string): string | undefined;
  /** A worker token for one compute's workers, good for `pool` only. */
  issueToken(computeId: string, pool: string): string;
  /** Workers of the compute attached and ready right now. */
  attachedWorkers(computeId: string): number;
  /** When the compute's workers last served a call (ms since epoch), if ever. */
  lastActivity(computeId: string): number | undefined;
  /** Called with a compute id whenever its workers attach or detach. */
  onChange(listener: (computeId: string) => void): () => void;
  /** Detaches the compute's workers and invalidates its token. */
  revoke(computeId: string): void;
}

export interface Budget {
  maxComputes?: number;
  maxCostPerHour?: number;
}

export interface OrchestratorOptions {
  store: ComputeStore;
  providers: Provider[];
  defaultProvider: string;
  logger: Logger;
  workerHost?: WorkerGroupHost;
  budgetFor?: (owner: string) => Budget | undefined;
  /** How often a compute on its way to a stable state is polled. */
  pollIntervalMs: number;
  /** How often idle TTLs are checked. */
  idleSweepMs: number;
  /** How often provider resources pyfleet does not know are reaped; 0 disables it. */
  reaperIntervalMs: number;
  /** WaitCompute's limit when the request sets none. */
  waitTimeoutMs: number;
  /** Spawns and jobs get spans; default NO_TELEMETRY. */
  telemetry?: Telemetry | undefined;
}

export interface ComputeChange {
  compute: ComputeRecord;
  previous: ComputeStatus;
}

export interface ListComputesFilter {
  provider?: string;
  statuses?: ComputeStatus[];
  labels?: Record<string, string>;
}

export interface RunJobInput {
  provider?: string;
  endpoint: string;
  input: JsonValue;
  timeoutMs?: number;
  clientRequestId?: string;
}

export type JobStreamEvent = { output: JsonValue } | { job: JobRecord };

export function statusName(s: ComputeStatus): string {
  return ComputeStatus[s].toLowerCase();
}

/**
 * What the orchestrator's rooms share (the facade, tracking, jobs, upkeep):
 * the settings, the providers, the logger, the change events, and the one
 * handle on the store. Every read and write of records goes through `store`.
 */
export class ComputeContext {
  /** Emits "change" with a ComputeChange for every status change. */
  readonly events = new EventEmitter();
  readonly providers = new Map<string, Provider>();
  readonly store: ComputeStore;
  readonly logger: Logger;
  readonly workerHost: WorkerGroupHost | undefined;
  readonly telemetry: Telemetry;
  closed = false;
  /**
   * Whether this server runs upkeep (reconcile, provider polling, idle sweep,
   * reaper): always with SQLite; with Postgres, the one elected replica.
   */
  leading = false;

  constructor(readonly options: OrchestratorOptions) {
    for (const p of options.providers) this.providers.set(p.name, p);
    this.store = options.store;
    this.workerHost = options.workerHost;
    this.telemetry = options.telemetry ?? NO_TELEMETRY;
    this.logger = options.logger.child({ component: "compute" });
    this.events.setMaxListeners(0);
  }

  provider(name: string): Provider {
    const p = this.providers.get(name);
    if (!p) throw new PyfleetError("not_found", `unknown provider "${name}"; configured: ${[...this.providers.keys()].sort().join(", ")} (see ListProviders)`);
    return p;
  }

  assertOpen(): void {
    if (this.closed) throw new PyfleetError("unavailable", "the compute orchestrator is shutting down");
  }

  /** When a compute last served or was touched: its record, or its workers' last call. */
  lastActive(record: ComputeRecord): number {
    return Math.max(record.lastActiveAt, this.workerHost?.lastActivity(record.id) ?? 0);
  }
}
