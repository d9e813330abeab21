import { describe, expect, it } from "vitest";
import type { ChaosResult } from "./lib.js";
import { SCENARIOS } from "./scenarios/index.js";

/*
 * Every chaos scenario, small (scale "test"), inside `npm test`: each must run
 * to the end and keep its correctness invariants. Its timing and memory
 * goals are judged by `npm run chaos`, not here (no timed assertions in tests).
 */
const run = (id: string) => SCENARIOS[id]!({ scale: "test", log: () => undefined });
const explain = (r: ChaosResult) => `${r.figure}\n${r.notes.join("\n")}`;

describe("chaos scenarios at test scale", { timeout: 120_000 }, () => {
  it("workers.sigkill: idempotent calls survive worker kills", async () => {
    const r = await run("workers.sigkill");
    expect(r.counts.kills, explain(r)).toBeGreaterThan(0);
    // An idempotent call fails only when every attempt's worker was killed
    // (maxAttempts); how rarely is a goal of `npm run chaos`, where the
    // sample is large and the machine not shared with the rest of the tests.
    expect(r.counts.idempotent_calls! - r.counts.idempotent_ok! - r.counts.retries_exhausted!, explain(r)).toBe(0);
    expect(r.counts.idempotent_ok! / r.counts.idempotent_calls!, explain(r)).toBeGreaterThanOrEqual(0.95);
    expect(r.notes.some((n) => n.startsWith("non-idempotent failures") && /"(?!UNAVAILABLE)[A-Z_]+"/.test(n)), explain(r)).toBe(false);
  });

  it("server.sigkill: nothing the server started outlives it; it restarts on the same port and data dir", async () => {
    const r = await run("server.sigkill");
    expect(r.counts.processes_started, explain(r)).toBeGreaterThanOrEqual(3);
    // The watch list holds the pool's own Python workers and everything below the server.
    expect(r.counts.pool_workers, explain(r)).toBe(2);
    expect(r.counts.unwatched, explain(r)).toBe(0);
    expect(r.counts.alive_after_2s, explain(r)).toBe(0);
    expect(r.notes.some((n) => n.startsWith("restart:")), explain(r)).toBe(false);
  });

  it("tools.misbehave: crashes, floods, hangs and import errors get clear errors and replaced workers", async () => {
    const r = await run("tools.misbehave");
    expect(r.met, explain(r)).toBe(true);
  });

  it("protocol.malformed: no INTERNAL for a client's fault, and the server stays up", async () => {
    const r = await run("protocol.malformed");
    expect(r.counts.internal, explain(r)).toBe(0);
    expect(r.counts.hung, explain(r)).toBe(0);
    // Every input that is not a valid message is refused; valid ones (made by chance) are counted apart.
    expect(r.counts.ok_for_invalid, explain(r)).toBe(0);
    expect(r.counts.refused! + r.counts.valid_messages!, explain(r)).toBe(r.counts.requests);
    expect(r.figure, explain(r)).toContain("up and serving");
  });

  it("pool.saturation: excess calls are refused RESOURCE_EXHAUSTED and the queue stays bounded", async () => {
    const r = await run("pool.saturation");
    expect(r.counts.resource_exhausted, explain(r)).toBeGreaterThan(0);
    expect(r.counts.max_queue_depth, explain(r)).toBeLessThanOrEqual(20);
    expect(r.counts.other_errors, explain(r)).toBe(0);
    expect(r.counts.calls_beside_unread_stream, explain(r)).toBeGreaterThan(0);
  });

  it("runpod.faults: no duplicate or leftover pods, and the store agrees with RunPod", async () => {
    const r = await run("runpod.faults");
    expect(r.met, explain(r)).toBe(true);
  });

  it("security.auth: every refusal has its code and no key reaches the logs", async () => {
    const r = await run("security.auth");
    expect(r.counts.passed, explain(r)).toBe(r.counts.checks);
    expect(r.counts.leaked_keys, explain(r)).toBe(0);
  });

  it("soak.mixed: no errors, no leaked descriptors, sessions end with their TTL", async () => {
    const r = await run("soak.mixed");
    expect(r.counts.errors, explain(r)).toBe(0);
    expect(r.counts.sessions_after_ttl, explain(r)).toBe(0);
    expect(r.counts.fd_growth, explain(r)).toBeLessThan(5);
  });
});
