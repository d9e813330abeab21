import { ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { type Machine, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import type { ComputeContext } from "./context.js";
import { COMPUTE_LABEL, MANAGED_LABEL } from "./provider.js";
import { FINAL_STATUSES } from "./store.js";
import type { Tracker } from "./tracking.js";

const errText = (e: unknown) => (e instanceof Error ? e.message : e);

/**
 * The orchestrator's background work: at start, reconciling what the store
 * knows with the providers (a spawn interrupted by a crash is recovered or
 * failed); then, on timers, terminating computes idle past their TTL and
 * reaping labelled machines pyfleet has no live compute for.
 */
export class Upkeep {
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly ctx: ComputeContext,
    private readonly tracker: Tracker,
  ) {}

  /** Starts the idle sweep and the reaper (which also runs once now). */
  start(): void {
    const { options, logger } = this.ctx;
    this.every(options.idleSweepMs, () => this.expireIdle());
    if (options.reaperIntervalMs > 0) {
      void this.reap().catch((e: unknown) => logger.warn({ err: e }, "reaper failed"));
      this.every(options.reaperIntervalMs, () => this.reap());
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }

  /** At start: what the store knows, checked against the providers. */
  async reconcile(): Promise<void> {
    const { store, providers, logger } = this.ctx;
    for (const record of store.liveComputes()) {
      const provider = providers.get(record.provider);
      if (!provider) {
        logger.warn({ compute: record.id, provider: record.provider }, `compute ${record.id} is on provider "${record.provider}", which is no longer configured`);
        continue;
      }
      try {
        if (record.status === ComputeStatus.PENDING || !record.providerId) {
          const found = (await provider.list({ labels: { [COMPUTE_LABEL]: record.id }, includeTerminated: true }))[0];
          if (found) {
            await this.tracker.apply(record, found);
            logger.warn({ compute: record.id, machine: found.id }, `recovered compute ${record.id}: its spawn was interrupted, the provider has machine ${found.id}`);
          } else {
            this.tracker.save(record, ComputeStatus.FAILED, `the server stopped before provider "${record.provider}" answered the spawn, and the provider has no machine for it`);
          }
        } else {
          await this.tracker.refresh(record);
        }
      } catch (e) {
        logger.warn({ compute: record.id, err: errText(e) }, "could not reconcile a compute; it is retried on its next read");
      }
      if (!FINAL_STATUSES.has(record.status)) this.tracker.track(record.id);
    }
  }

  /**
   * Terminates provider machines that carry pyfleet's label but that the
   * store does not know, or knows as terminated. Returns how many it reaped.
   */
  async reap(): Promise<number> {
    const { store, providers, logger } = this.ctx;
    let reaped = 0;
    for (const provider of providers.values()) {
      let machines: Machine[];
      try {
        machines = await provider.list({ labels: { [MANAGED_LABEL]: "true" } });
      } catch (e) {
        logger.warn({ provider: provider.name, err: errText(e) }, "reaper could not list machines");
        continue;
      }
      for (const machine of machines) {
        const computeId = machine.labels[COMPUTE_LABEL] ?? "";
        const record = computeId ? store.getCompute(computeId) : undefined;
        if (machine.status === MachineStatus.TERMINATED) continue;
        if (record && !FINAL_STATUSES.has(record.status) && record.providerId === machine.id) continue;
        if (record && record.status === ComputeStatus.PENDING) continue;
        try {
          await provider.terminate(machine.id);
          reaped++;
          logger.warn({ provider: provider.name, machine: machine.id, compute: computeId }, `reaped machine ${machine.id}: pyfleet has no live compute for it`);
        } catch (e) {
          logger.warn({ provider: provider.name, machine: machine.id, err: errText(e) }, "reaper could not terminate a machine");
        }
      }
    }
    return reaped;
  }

  private async expireIdle() {
    const now = Date.now();
    for (const record of this.ctx.store.liveComputes()) {
      if (!record.idleTtlMs || record.status === ComputeStatus.TERMINATING) continue;
      if (now - this.ctx.lastActive(record) <= record.idleTtlMs) continue;
      try {
        await this.tracker.terminate(record, `idle for more than ${Math.round(record.idleTtlMs / 1000)} s (idle_ttl)`);
      } catch (e) {
        this.ctx.logger.warn({ compute: record.id, err: errText(e) }, "could not terminate an idle compute");
      }
    }
  }

  private every(ms: number, fn: () => Promise<unknown> | void) {
    const timer = setInterval(() => {
      void Promise.resolve(fn()).catch((e: unknown) => this.ctx.logger.warn({ err: errText(e) }, "compute upkeep failed"));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
