import net from "node:net";
import { ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { type Machine, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { BoundedChannel } from "../channel.js";
import { PyfleetError } from "../errors.js";
import { type ComputeChange, type ComputeContext, statusName } from "./context.js";
import { COMPUTE_LABEL } from "./provider.js";
import type { ComputeRecord } from "./store/index.js";

const TRANSITIONAL = new Set([ComputeStatus.PENDING, ComputeStatus.PROVISIONING, ComputeStatus.RUNNING, ComputeStatus.STOPPING, ComputeStatus.TERMINATING]);
const WATCH_BACKLOG = 10_000;
/**
 * With a shared store, a PENDING compute without a machine may be another
 * replica's spawn in flight; the upkeep leader treats it as interrupted only
 * once it is this old (well past a provider's spawn call with its retries).
 */
export const PENDING_GRACE_MS = 120_000;

function machineStatus(m: Machine): ComputeStatus {
  switch (m.status) {
    case MachineStatus.PROVISIONING:
      return ComputeStatus.PROVISIONING;
    case MachineStatus.RUNNING:
      return ComputeStatus.RUNNING;
    case MachineStatus.STOPPING:
      return ComputeStatus.STOPPING;
    case MachineStatus.STOPPED:
      return ComputeStatus.STOPPED;
    case MachineStatus.TERMINATED:
      return ComputeStatus.TERMINATED;
    case MachineStatus.FAILED:
      return ComputeStatus.FAILED;
    default:
      return ComputeStatus.PROVISIONING;
  }
}

/** Whether a TCP connection to host:port succeeds within a second. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1_000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
  });
}

/**
 * Knows what state each compute is in: records a machine's state on its
 * compute (READY once its ports answer or its workers attached), saves each
 * change and announces it, polls computes on their way to a stable state
 * (worker attachments wake them early), and terminates them.
 */
export class Tracker {
  private readonly tracking = new Set<string>();
  private readonly wakers = new Map<string, () => void>();

  constructor(private readonly ctx: ComputeContext) {}

  /** Records a machine's state on its compute; READY once its ports answer or its workers are attached. */
  async apply(record: ComputeRecord, machine: Machine, onlyFromCurrent = false): Promise<void> {
    record.providerId = machine.id;
    record.gpuType = machine.gpuType || record.gpuType;
    if (machine.costPerHour > 0) record.costPerHour = machine.costPerHour;
    record.endpoints = machine.endpoints;
    let status = machineStatus(machine);
    if (record.status === ComputeStatus.TERMINATING && status !== ComputeStatus.TERMINATED && status !== ComputeStatus.FAILED) {
      // Being terminated (here or by another replica, whose provider call may not have reached
      // the machine yet): only the machine's end moves it on. A poll that saw the machine still
      // running made it READY again (fresh-clone run 22: a watcher saw TERMINATING, READY, TERMINATED).
      await this.save(record, ComputeStatus.TERMINATING, record.statusMessage, onlyFromCurrent);
      return;
    }
    if (status === ComputeStatus.RUNNING && (await this.isReady(record))) status = ComputeStatus.READY;
    const message = status === ComputeStatus.READY || status === ComputeStatus.RUNNING ? "" : machine.message || record.statusMessage;
    await this.save(record, status, message, onlyFromCurrent);
  }

  /**
   * Saves a compute's new status and announces the change (to other replicas too, through the
   * store). With `onlyFromCurrent`, only if the stored status is still the one `record` was read
   * with: a poll must not undo a change another replica made meanwhile (a terminate, say).
   */
  async save(record: ComputeRecord, status: ComputeStatus, message: string, onlyFromCurrent = false): Promise<void> {
    const previous = record.status;
    record.status = status;
    record.statusMessage = message;
    record.updatedAt = Date.now();
    if (status === ComputeStatus.READY && record.readyAt === undefined) record.readyAt = record.updatedAt;
    const changed = previous !== status ? previous : undefined;
    if (onlyFromCurrent) {
      if (!(await this.ctx.store.updateComputeIf(record, previous, changed))) return;
    } else {
      await this.ctx.store.updateCompute(record, changed);
    }
    if (previous !== status) this.announce(record, previous);
  }

  /** Logs a compute's status and emits it as a change. */
  announce(record: ComputeRecord, previous: ComputeStatus): void {
    this.ctx.logger.info({ compute: record.id, provider: record.provider, status: statusName(record.status), previous: previous ? statusName(previous) : undefined },
      `compute ${record.id} is ${statusName(record.status)}${record.statusMessage ? `: ${record.statusMessage}` : ""}`);
    this.ctx.events.emit("change", { compute: { ...record }, previous } satisfies ComputeChange);
  }

  /** The changes that pass `filter`, until `signal` aborts or the reader leaves. */
  subscribe(filter: (c: ComputeChange) => boolean, signal: AbortSignal): BoundedChannel<ComputeChange> {
    const events = this.ctx.events;
    const channel = new BoundedChannel<ComputeChange>(WATCH_BACKLOG, () => new PyfleetError("resource_exhausted", "the watcher fell too far behind; watch again"));
    const listener = (c: ComputeChange) => {
      if (filter(c)) channel.push(c);
    };
    events.on("change", listener);
    const stop = () => channel.close();
    signal.addEventListener("abort", stop, { once: true });
    channel.onDone(() => {
      events.off("change", listener);
      signal.removeEventListener("abort", stop);
    });
    return channel;
  }

  /** Reads the compute's machine from its provider; a machine the provider no longer has is TERMINATED. */
  async refresh(record: ComputeRecord): Promise<void> {
    if (!record.providerId) return;
    try {
      await this.apply(record, await this.ctx.provider(record.provider).get(record.providerId), true);
    } catch (e) {
      if (e instanceof PyfleetError && e.code === "not_found") {
        await this.save(record, ComputeStatus.TERMINATED, `the machine is gone at provider "${record.provider}"`);
        return;
      }
      throw e;
    }
  }

  /**
   * Polls a compute until it settles (ready, stopped or gone); worker
   * attachments wake it early. Polling is upkeep: only the leader does it
   * (replicas see its changes through the store).
   */
  track(id: string): void {
    const ctx = this.ctx;
    if (this.tracking.has(id) || ctx.closed || !ctx.leading) return;
    this.tracking.add(id);
    void (async () => {
      try {
        for (;;) {
          const record = await ctx.store.getCompute(id);
          if (!record || ctx.closed || !ctx.leading) return;
          const settled = !TRANSITIONAL.has(record.status) && !(record.status === ComputeStatus.READY && record.spec.workers);
          if (settled) return;
          if (record.status === ComputeStatus.READY) {
            // A ready worker-group compute only needs re-checking when its workers change.
            await this.sleep(id, 0);
          } else if (record.status === ComputeStatus.PENDING && !record.providerId) {
            // Another replica's spawn in flight, or one whose server died: recovered once it is old.
            if (Date.now() - record.updatedAt > PENDING_GRACE_MS) await this.recover(record);
            else await this.sleep(id, ctx.options.pollIntervalMs);
            continue;
          } else {
            await this.refresh(record);
            const after = (await ctx.store.getCompute(id))!;
            if (after.status === ComputeStatus.READY && !after.spec.workers) return;
            if (!TRANSITIONAL.has(after.status) && after.status !== ComputeStatus.READY) return;
            await this.sleep(id, ctx.options.pollIntervalMs);
          }
          const latest = await ctx.store.getCompute(id);
          if (latest && latest.status === ComputeStatus.READY && latest.spec.workers && !(await this.isReady(latest))) {
            await this.save(latest, ComputeStatus.RUNNING, "its workers detached");
          }
        }
      } catch (e) {
        ctx.logger.warn({ compute: id, err: e instanceof Error ? e.message : e }, "tracking a compute failed; it is refreshed on its next read");
      } finally {
        this.tracking.delete(id);
      }
    })();
  }

  /** The compute's workers changed: re-check it now. */
  wake(id: string): void {
    const waker = this.wakers.get(id);
    if (waker) waker();
    else void this.ctx.store.getCompute(id).then((c) => c && this.track(id), () => {});
  }

  /** Ends every wait (at close). */
  wakeAll(): void {
    for (const wake of this.wakers.values()) wake();
  }

  /** Terminates a compute's machine (idempotent) and detaches its workers. */
  async terminate(record: ComputeRecord, reason: string): Promise<ComputeRecord> {
    if (record.status === ComputeStatus.TERMINATED) return record;
    const provider = this.ctx.provider(record.provider);
    if (record.spec.workers) this.ctx.workerHost?.revoke(record.id);
    if (!record.providerId) {
      // It never got a machine (failed or pending spawn): nothing is billed.
      await this.save(record, ComputeStatus.TERMINATED, reason);
      return record;
    }
    await this.save(record, ComputeStatus.TERMINATING, reason);
    try {
      const machine = await provider.terminate(record.providerId);
      await this.apply(record, machine);
    } catch (e) {
      if (!(e instanceof PyfleetError && e.code === "not_found")) {
        await this.save(record, ComputeStatus.TERMINATING, `terminate failed, retrying later: ${e instanceof Error ? e.message : String(e)}`);
        this.track(record.id);
        throw e;
      }
    }
    await this.save(record, ComputeStatus.TERMINATED, reason);
    return record;
  }

  /** Checks one live compute against its provider: finds the machine of an interrupted spawn, or refreshes it. */
  async recover(record: ComputeRecord): Promise<void> {
    const { providers, logger } = this.ctx;
    const provider = providers.get(record.provider);
    if (!provider) {
      logger.warn({ compute: record.id, provider: record.provider }, `compute ${record.id} is on provider "${record.provider}", which is no longer configured`);
      return;
    }
    try {
      if (record.status === ComputeStatus.PENDING || !record.providerId) {
        const found = (await provider.list({ labels: { [COMPUTE_LABEL]: record.id }, includeTerminated: true }))[0];
        if (found) {
          await this.apply(record, found);
          logger.warn({ compute: record.id, machine: found.id }, `recovered compute ${record.id}: its spawn was interrupted, the provider has machine ${found.id}`);
        } else {
          await this.save(record, ComputeStatus.FAILED, `the server stopped before provider "${record.provider}" answered the spawn, and the provider has no machine for it`);
        }
      } else {
        await this.refresh(record);
      }
    } catch (e) {
      logger.warn({ compute: record.id, err: e instanceof Error ? e.message : e }, "could not reconcile a compute; it is retried on its next read");
    }
  }

  private async isReady(record: ComputeRecord): Promise<boolean> {
    const workers = record.spec.workers;
    if (workers) return (this.ctx.workerHost?.attachedWorkers(record.id) ?? 0) >= (workers.count || 1);
    if (!this.ctx.provider(record.provider).probesPorts || record.endpoints.length === 0) return true;
    const checks = record.endpoints.map((e) => {
      if (e.protocol === "tcp") return reachable(e.host, e.publicPort || e.port);
      const url = new URL(e.url);
      return reachable(url.hostname, Number(url.port) || (url.protocol === "https:" ? 443 : 80));
    });
    return (await Promise.all(checks)).every(Boolean);
  }

  /** Waits `ms` (0: until woken) or until the compute's workers change. */
  private sleep(id: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms > 0 ? setTimeout(done, ms) : undefined;
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakers.set(id, () => {
        this.wakers.delete(id);
        done();
      });
    });
  }
}
