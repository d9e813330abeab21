import { ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { type Machine, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import type { ComputeChange, ComputeContext } from "./context.js";
import { COMPUTE_LABEL, MANAGED_LABEL } from "./provider.js";
import { FINAL_STATUSES, type RemoteChange } from "./store/index.js";
import { PENDING_GRACE_MS, type Tracker } from "./tracking.js";

const errText = (e: unknown) => (e instanceof Error ? e.message : e);

/**
 * The orchestrator's background work, run only while this server leads
 * (always with SQLite; with Postgres, the replica holding the upkeep lock,
 * re-elected within seconds when it dies): when it starts leading,
 * reconciling what the store knows with the providers (a spawn interrupted
 * by a crash is recovered or failed); then, on timers, terminating computes
 * idle past their TTL and reaping labelled machines pyfleet has no live
 * compute for. It also relays other replicas' changes to this server's
 * watchers, and takes over polling them when it leads.
 */
export class Upkeep {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribe: (() => void)[] = [];
  private remoteChanges: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: ComputeContext,
    private readonly tracker: Tracker,
  ) {}

  /**
   * Follows other replicas' changes, competes for leadership and starts the
   * timers (which act only while leading). With a store nobody shares this
   * server leads at once, and this resolves after its first reconcile.
   */
  async start(): Promise<void> {
    const { options, store } = this.ctx;
    // One at a time, in the order heard: each reads its compute first, and reads that finish out of
    // order told watchers READY after TERMINATING (fresh-clone run 22).
    this.unsubscribe.push(store.onRemoteChange((change) => {
      this.remoteChanges = this.remoteChanges.then(() => this.remoteChange(change)).catch((e: unknown) => {
        this.ctx.logger.warn({ compute: change.computeId, err: errText(e) }, "could not tell watchers of a change another replica made");
      });
    }));
    const firstTerm = new Promise<void>((resolve) => {
      this.unsubscribe.push(store.onLeadership((leading) => void this.lead(leading).finally(resolve)));
    });
    if (!store.shared) await firstTerm;
    this.every(options.idleSweepMs, () => this.expireIdle());
    if (options.reaperIntervalMs > 0) this.every(options.reaperIntervalMs, () => this.reap());
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    for (const off of this.unsubscribe) off();
  }

  /** Leadership came or went. */
  private async lead(leading: boolean) {
    const { ctx } = this;
    ctx.leading = leading;
    if (!leading || ctx.closed) return;
    await this.reconcile();
    if (ctx.options.reaperIntervalMs > 0) void this.reap().catch((e: unknown) => ctx.logger.warn({ err: errText(e) }, "reaper failed"));
  }

  /** Another replica changed a compute: tell this server's watchers, and poll it here when this server leads. */
  private async remoteChange(change: RemoteChange) {
    const { ctx } = this;
    let record;
    try {
      record = await ctx.store.getCompute(change.computeId);
    } catch (e) {
      ctx.logger.warn({ compute: change.computeId, err: errText(e) }, "could not read a compute another replica changed");
      return;
    }
    if (!record) return;
    // The row may have moved on already; the event carries the status it announced. A replayed
    // one announces nothing: it is told as the row is now, newer than anything told before it.
    const status = change.replayed ? record.status : change.status;
    ctx.events.emit("change", { compute: { ...record, status }, previous: change.previous } satisfies ComputeChange);
    if (!FINAL_STATUSES.has(record.status)) this.tracker.track(record.id);
  }

  /** When elected (at start, with SQLite): what the store knows, checked against the providers. */
  async reconcile(): Promise<void> {
    const { store } = this.ctx;
    for (const record of await store.liveComputes()) {
      if (!this.ctx.leading || this.ctx.closed) return;
      if (store.shared && record.status === ComputeStatus.PENDING && !record.providerId && Date.now() - record.updatedAt <= PENDING_GRACE_MS) {
        // Maybe another replica's spawn in flight: tracking recovers it if it stays pending.
        this.tracker.track(record.id);
        continue;
      }
      await this.tracker.recover(record);
      if (!FINAL_STATUSES.has(record.status)) this.tracker.track(record.id);
    }
  }

  /**
   * Terminates provider machines that carry pyfleet's label but that the
   * store does not know, or knows as terminated. Returns how many it reaped.
   */
  async reap(): Promise<number> {
    const { store, providers, logger } = this.ctx;
    if (!this.ctx.leading) return 0;
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
        const record = computeId ? await store.getCompute(computeId) : undefined;
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
    if (!this.ctx.leading) return;
    const now = Date.now();
    for (const record of await this.ctx.store.liveComputes()) {
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
