import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CircuitBreaker } from "../../src/pool/circuit.js";

function breaker(threshold = 3) {
  const seen: string[] = [];
  const circuit = new CircuitBreaker(
    { threshold, cooldownMs: 1_000, maxCooldownMs: 4_000 },
    { opened: () => seen.push(`opened:${circuit.lastError}`), probe: () => seen.push("probe") },
  );
  return { circuit, seen };
}

describe("circuit breaker", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("opens at the threshold of failures in a row, not before", () => {
    const { circuit, seen } = breaker(3);
    circuit.failed("a");
    circuit.failed("b");
    expect(circuit.state).toBe("closed");
    expect(seen).toEqual([]);
    circuit.failed("c");
    expect(circuit.state).toBe("open");
    expect(circuit.open).toBe(true);
    expect(circuit.failures).toBe(3);
    expect(seen).toEqual(["opened:c"]);
  });

  it("a worker that starts resets the count of failures in a row", () => {
    const { circuit } = breaker(2);
    circuit.failed("a");
    expect(circuit.succeeded()).toBe(false);
    expect(circuit.failures).toBe(0);
    circuit.failed("b");
    expect(circuit.state).toBe("closed");
  });

  it("probes after the cooldown; a failed probe reopens it with twice the wait, capped", () => {
    const { circuit, seen } = breaker(1);
    circuit.failed("first");
    expect(circuit.cooldownMs).toBe(2_000);
    vi.advanceTimersByTime(999);
    expect(circuit.state).toBe("open");
    vi.advanceTimersByTime(1);
    expect(circuit.state).toBe("probing");
    expect(seen).toEqual(["opened:first", "probe"]);

    circuit.failed("probe 1");
    expect(circuit.state).toBe("open");
    vi.advanceTimersByTime(1_999);
    expect(circuit.state).toBe("open");
    vi.advanceTimersByTime(1);
    expect(circuit.state).toBe("probing");

    circuit.failed("probe 2");
    circuit.failed("probe 2 again while open");
    expect(circuit.cooldownMs).toBe(4_000);
    vi.advanceTimersByTime(3_999);
    expect(circuit.state).toBe("open");
    vi.advanceTimersByTime(1);
    expect(circuit.state).toBe("probing");
    // Each failed probe opens it again; a failure while it is open does not announce it twice.
    expect(seen.filter((s) => s.startsWith("opened"))).toEqual(["opened:first", "opened:probe 1", "opened:probe 2"]);
    expect(seen.filter((s) => s === "probe")).toHaveLength(3);
  });

  it("closes when a worker starts, resets the cooldown and cancels the pending probe", () => {
    const { circuit, seen } = breaker(1);
    circuit.failed("x");
    circuit.failed("y");
    expect(circuit.cooldownMs).toBe(4_000);
    expect(circuit.succeeded()).toBe(true);
    expect(circuit.state).toBe("closed");
    expect(circuit.cooldownMs).toBe(1_000);
    vi.advanceTimersByTime(10_000);
    expect(circuit.state).toBe("closed");
    expect(seen).toEqual(["opened:x"]);
  });

  it("stop() cancels a pending probe", () => {
    const { circuit, seen } = breaker(1);
    circuit.failed("x");
    circuit.stop();
    vi.advanceTimersByTime(10_000);
    expect(circuit.state).toBe("open");
    expect(seen).toEqual(["opened:x"]);
  });
});
