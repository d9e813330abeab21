import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type AutoscaleSettings, Autoscaler, type PoolLoad, type WorkerLoad } from "../../src/pool/autoscaler.js";

const SETTINGS: AutoscaleSettings = { minSize: 1, maxSize: 4, targetInflight: 2, scaleUpDelayMs: 1_000, scaleDownDelayMs: 5_000 };

function scaler(settings: Partial<AutoscaleSettings> = {}) {
  const rechecks: number[] = [];
  const autoscaler = new Autoscaler({ ...SETTINGS, ...settings }, { recheck: () => rechecks.push(Date.now()) });
  return { autoscaler, rechecks };
}

/** A serving worker; idle since `idleSince` unless it has calls. */
function worker(id: string, fields: Partial<WorkerLoad> = {}): WorkerLoad {
  return { id, starting: false, idleSince: undefined, sessions: 0, ...fields };
}

function load(size: number, queued: number, inFlight: number, workers: WorkerLoad[] = []): PoolLoad {
  return { size, queued, inFlight, workers };
}

describe("autoscaler", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 100_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("asks for one worker per targetInflight calls, queued or in flight, within [minSize, maxSize]", () => {
    const { autoscaler } = scaler();
    expect(autoscaler.wanted({ queued: 0, inFlight: 0 })).toBe(1);
    expect(autoscaler.wanted({ queued: 0, inFlight: 3 })).toBe(2);
    expect(autoscaler.wanted({ queued: 3, inFlight: 2 })).toBe(3);
    expect(autoscaler.wanted({ queued: 500, inFlight: 8 })).toBe(4);
  });

  it("grows only once the load has stayed above target for scaleUpDelayMs, then straight to what it asks for, never above maxSize", () => {
    const { autoscaler, rechecks } = scaler();
    const busy = [worker("w1")];
    expect(autoscaler.decide(load(1, 40, 2, busy))).toEqual({ action: "hold" });
    vi.advanceTimersByTime(999);
    expect(rechecks).toEqual([]);
    expect(autoscaler.decide(load(1, 40, 2, busy))).toEqual({ action: "hold" });
    vi.advanceTimersByTime(1);
    // The autoscaler asked to be consulted once the delay passed.
    expect(rechecks).toEqual([101_000]);
    expect(autoscaler.decide(load(1, 40, 2, busy))).toEqual({ action: "up", reason: "load", fromWorkers: 1, toWorkers: 4, queueDepth: 40, inFlight: 2 });
  });

  it("a blip shorter than scaleUpDelayMs starts nothing: the wait starts over", () => {
    const { autoscaler } = scaler();
    expect(autoscaler.decide(load(1, 5, 2, [worker("w1")]))).toEqual({ action: "hold" });
    vi.advanceTimersByTime(600);
    expect(autoscaler.decide(load(1, 0, 1, [worker("w1")]))).toEqual({ action: "hold" });
    vi.advanceTimersByTime(600);
    expect(autoscaler.decide(load(1, 5, 2, [worker("w1")]))).toEqual({ action: "hold" });
    vi.advanceTimersByTime(999);
    expect(autoscaler.decide(load(1, 5, 2, [worker("w1")])).action).toBe("hold");
    vi.advanceTimersByTime(1);
    expect(autoscaler.decide(load(1, 5, 2, [worker("w1")]))).toMatchObject({ action: "up", toWorkers: 4 });
  });

  it("from zero, a call starts one worker at once (no delay); more follow if the load stays", () => {
    const { autoscaler, rechecks } = scaler({ minSize: 0, targetInflight: 1 });
    expect(autoscaler.decide(load(0, 0, 0))).toEqual({ action: "hold" });
    expect(autoscaler.decide(load(0, 3, 0))).toEqual({ action: "up", reason: "cold_start", fromWorkers: 0, toWorkers: 1, queueDepth: 3, inFlight: 0 });
    expect(autoscaler.decide(load(1, 3, 0, [worker("w1", { starting: true })]))).toEqual({ action: "hold" });
    // The load asks for three: it is looked at again once scaleUpDelayMs has passed, worker ready or not.
    vi.advanceTimersByTime(1_000);
    expect(rechecks).toEqual([101_000]);
    expect(autoscaler.decide(load(1, 2, 1, [worker("w1")]))).toMatchObject({ action: "up", reason: "load", fromWorkers: 1, toWorkers: 3 });
  });

  it("retires workers idle for scaleDownDelayMs, longest idle first, down to what the load asks for and never below minSize", () => {
    const { autoscaler, rechecks } = scaler();
    const t = Date.now();
    const workers = [worker("w1", { idleSince: t - 1_000 }), worker("w2", { idleSince: t - 3_000 }), worker("w3", { idleSince: t }), worker("w4", { idleSince: t - 2_000 })];
    expect(autoscaler.decide(load(4, 0, 0, workers))).toEqual({ action: "hold" });
    // The longest idle (w2) is due at t + 2000.
    vi.advanceTimersByTime(2_000);
    expect(rechecks).toEqual([t + 2_000]);
    expect(autoscaler.decide(load(4, 0, 0, workers))).toEqual({ action: "down", reason: "idle", retire: ["w2"], fromWorkers: 4, toWorkers: 3, queueDepth: 0, inFlight: 0 });
    vi.advanceTimersByTime(10_000);
    // All idle long enough; the load (none) asks for minSize 1: three go, the most recently idle stays.
    expect(autoscaler.decide(load(4, 0, 0, workers))).toMatchObject({ action: "down", retire: ["w2", "w4", "w1"], toWorkers: 1 });
    expect(autoscaler.decide(load(1, 0, 0, [worker("w3", { idleSince: t })]))).toEqual({ action: "hold" });
  });

  it("keeps idle workers the load still needs, workers that hold a session, and workers still starting", () => {
    const { autoscaler } = scaler({ minSize: 0 });
    const old = Date.now() - 60_000;
    // 4 calls in flight at 2 per worker need 2 of the 3 workers: only one idle worker goes.
    const three = [worker("busy1"), worker("idle1", { idleSince: old }), worker("idle2", { idleSince: old + 1 })];
    expect(autoscaler.decide(load(3, 0, 4, three))).toMatchObject({ action: "down", retire: ["idle1"], toWorkers: 2 });
    const held = [worker("s1", { idleSince: old, sessions: 1 }), worker("new", { starting: true }), worker("idle", { idleSince: old })];
    expect(autoscaler.decide(load(3, 0, 0, held))).toMatchObject({ action: "down", retire: ["idle"], toWorkers: 2 });
  });

  it("stop() cancels a pending recheck", () => {
    const { autoscaler, rechecks } = scaler();
    autoscaler.decide(load(1, 10, 2, [worker("w1")]));
    autoscaler.stop();
    vi.advanceTimersByTime(5_000);
    expect(rechecks).toEqual([]);
  });
});
