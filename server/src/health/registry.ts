import { EventEmitter, on } from "node:events";

export type ServingStatus = "SERVING" | "NOT_SERVING";

/**
 * The serving status of the server ("") and of each service, as the gRPC
 * health protocol reports it. Components set their status; watchers see
 * every change.
 */
export class HealthRegistry {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly changes = new EventEmitter();

  constructor() {
    this.changes.setMaxListeners(0);
  }

  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    this.changes.emit("change", service, status);
  }

  /** The status of a service, or undefined for a service nobody registered. */
  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  list(): ReadonlyMap<string, ServingStatus> {
    return new Map(this.statuses);
  }

  /** Marks every service NOT_SERVING, e.g. while shutting down. */
  setAll(status: ServingStatus): void {
    for (const service of this.statuses.keys()) this.set(service, status);
  }

  /** Yields the status of `service` each time it changes, until `signal` aborts. */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus | undefined> {
    const changes = on(this.changes, "change", { signal });
    yield this.get(service);
    try {
      for await (const [changed, status] of changes) {
        if (changed === service) yield status as ServingStatus;
      }
    } catch (e) {
      if (!signal.aborted) throw e;
    }
  }
}
