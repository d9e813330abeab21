import type { PendingCall } from "./calls.js";
import type { PoolCore } from "./core.js";
import type { Worker } from "./worker.js";

/**
 * Where a call goes: its session's worker if that one can take it now (a
 * strict session waits for it), else the worker with the most free slots,
 * else the least loaded one that can queue it behind young calls (prefetch).
 * Calls of batch tools count in batches (see pickForBatch).
 */
export function pickWorker(workers: ReadonlyMap<string, Worker>, call: PendingCall): Worker | undefined {
  const session = call.session;
  const tool = call.request.tool;
  if (session?.workerId) {
    const pinned = workers.get(session.workerId);
    let canTake = false;
    if (pinned && pinned.batchSize(tool) > 0) {
      const room = pinned.batchRoom(tool);
      canTake = room.free > 0 || (session.affinity !== "strict_fail_fast" && room.total > 0);
    } else if (pinned) {
      // fail_fast means "now or never": no queueing at the worker either.
      canTake = pinned.freeSlots > 0 || (session.affinity !== "strict_fail_fast" && pinned.prefetchSlots > 0);
    }
    if (canTake) return pinned;
    if (session.affinity !== "hint") return undefined;
  }
  for (const worker of workers.values()) {
    if (worker.serving) {
      if (worker.batchSize(tool) > 0) return pickForBatch(workers, tool);
      break;
    }
  }
  let best: Worker | undefined;
  let prefetchable: Worker | undefined;
  let room = 0;
  for (const worker of workers.values()) {
    const free = worker.freeSlots;
    if (free > 0 && (!best || free > best.freeSlots)) best = worker;
    else if (!best) {
      // The least loaded, so prefetched calls spread over the workers.
      const slots = worker.prefetchSlots;
      if (slots > room) {
        prefetchable = worker;
        room = slots;
      }
    }
  }
  return best ?? prefetchable;
}

/**
 * A batch tool's call: to the worker with the most room in batches it can
 * run now (so concurrent calls spread over idle workers and fill their
 * batches), else to one with room in the batch that fills while another
 * runs.
 */
function pickForBatch(workers: ReadonlyMap<string, Worker>, tool: string): Worker | undefined {
  let best: Worker | undefined;
  let bestFree = 0;
  let behind: Worker | undefined;
  let behindRoom = 0;
  for (const worker of workers.values()) {
    const room = worker.batchRoom(tool);
    if (room.free > bestFree) {
      best = worker;
      bestFree = room.free;
    } else if (!best && room.total > behindRoom) {
      behind = worker;
      behindRoom = room.total;
    }
  }
  return best ?? behind;
}

/**
 * With nothing queued in the pool, an idle worker takes over a prefetched
 * call that waits behind a slow one elsewhere (revoked there only if it has
 * not started, so it never runs twice). When the calls ahead are still
 * young, it looks again once the oldest would be old enough.
 */
export class Stealer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly core: PoolCore,
    private readonly hasQueued: () => boolean,
  ) {}

  run(): void {
    const { config, workers } = this.core;
    if (config.prefetch === 0 || this.hasQueued() || this.core.closing) return;
    let idle = 0;
    for (const w of workers.values()) idle += w.freeSlots;
    if (idle === 0) return;
    let soonest = Infinity;
    for (const w of workers.values()) {
      const queued = w.queuedCalls();
      if (queued.length === 0) continue;
      const age = w.oldestRunningMs();
      if (age >= config.prefetchStealMs) {
        for (const call of queued.slice(0, idle)) w.revoke(call);
        idle -= Math.min(idle, queued.length);
        if (idle === 0) return;
      } else {
        soonest = Math.min(soonest, config.prefetchStealMs - age);
      }
    }
    if (soonest !== Infinity && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.run();
      }, Math.ceil(soonest));
      this.timer.unref();
    }
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
