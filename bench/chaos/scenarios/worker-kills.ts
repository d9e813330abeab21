import type { PoolEvent } from "../../../server/src/pool/index.js";
import { byScale, type ChaosOptions, type ChaosResult, codeOf, eventWithin, pct, percentile, poolClient, startServer } from "../lib.js";

/**
 * 50 clients call idempotent `echo` while a random worker is SIGKILLed every
 * 200 ms; a few clients call a non-idempotent tool in the same run. Idempotent
 * calls must survive (retried on another worker), non-idempotent ones may
 * only fail UNAVAILABLE, every call is answered within its deadline, and the
 * pool is whole again soon after the last kill.
 */
export async function workerKills(o: ChaosOptions): Promise<ChaosResult> {
  const seconds = byScale(o.scale, { test: 3, quick: 10, full: 30 });
  const size = 4;
  const deadlineMs = 5_000;
  const { server, close } = await startServer({ pools: [{ name: "default", size }] });
  const pool = server.pools.get("default");
  const client = poolClient(server.url);
  const counts = { idempotent_calls: 0, idempotent_ok: 0, non_idempotent_calls: 0, non_idempotent_ok: 0, kills: 0, over_deadline: 0, retried: 0, retries_exhausted: 0 };
  const idempotentErrors = new Map<string, number>();
  const otherErrors = new Map<string, number>();
  const latencies: number[] = [];
  const samples = new Set<string>();
  const end = performance.now() + seconds * 1000;

  const caller = async (idempotent: boolean) => {
    while (performance.now() < end) {
      const started = performance.now();
      try {
        const res = idempotent
          ? await client.execute({ tool: "echo", args: { n: 1 }, idempotent: true }, { timeoutMs: deadlineMs })
          : await client.execute({ tool: "spin", args: { ms: 1 } }, { timeoutMs: deadlineMs });
        if (idempotent) {
          counts.idempotent_ok++;
          if ((res.info?.attempts ?? 1) > 1) counts.retried++;
        } else counts.non_idempotent_ok++;
      } catch (e) {
        const errors = idempotent ? idempotentErrors : otherErrors;
        errors.set(codeOf(e), (errors.get(codeOf(e)) ?? 0) + 1);
        const message = (e as Error).message.replace(/\d+/g, "N");
        // Killed on every attempt: the retry budget ran out, as documented.
        if (idempotent && message.includes("(maxAttempts)")) counts.retries_exhausted++;
        if (idempotent && samples.size < 5) samples.add(message);
      }
      const ms = performance.now() - started;
      latencies.push(ms);
      if (ms > deadlineMs + 250) counts.over_deadline++;
      if (idempotent) counts.idempotent_calls++;
      else counts.non_idempotent_calls++;
    }
  };

  // The killer: a random live worker every 200 ms, until the load ends.
  let lastKill = 0;
  const killer = (async () => {
    while (performance.now() < end - 200) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Workers, not a fork template: killing that takes its workers with it by design.
      const pids = pool.workerSummaries().map((w) => w.pid).filter((pid) => pid > 0);
      const victim = pids[Math.floor(Math.random() * pids.length)];
      if (victim === undefined) continue;
      try {
        process.kill(victim, "SIGKILL");
        counts.kills++;
        lastKill = performance.now();
      } catch {
        // it died by itself meanwhile
      }
    }
  })();

  await Promise.all([killer, ...Array.from({ length: 50 }, () => caller(true)), ...Array.from({ length: 5 }, () => caller(false))]);

  // Recovery: from the last kill until every worker is ready again.
  const whole = () => {
    const s = pool.stats();
    return s.workersReady + s.workersBusy === size && s.workersStarting === 0;
  };
  let recoveredMs = 0;
  if (!whole()) {
    await eventWithin<PoolEvent>(pool.events, "event", () => whole(), 30_000).catch(() => undefined);
  }
  recoveredMs = whole() ? Math.max(0, performance.now() - lastKill) : Number.POSITIVE_INFINITY;
  // A probe call proves the pool serves again.
  const probe = await client.execute({ tool: "echo", args: { probe: true } }, { timeoutMs: 5_000 }).then(() => "ok", codeOf);
  await close();

  latencies.sort((a, b) => a - b);
  const successRate = counts.idempotent_ok / Math.max(1, counts.idempotent_calls);
  const nonIdempotentCodes = [...otherErrors.keys()];
  const notes: string[] = [];
  if (idempotentErrors.size > 0) notes.push(`idempotent failures by code: ${JSON.stringify(Object.fromEntries(idempotentErrors))}, e.g. ${[...samples].join(" | ")}`);
  if (otherErrors.size > 0) notes.push(`non-idempotent failures by code: ${JSON.stringify(Object.fromEntries(otherErrors))}`);
  notes.push(`latency p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${percentile(latencies, 0.99).toFixed(1)} ms, max ${(latencies.at(-1) ?? 0).toFixed(0)} ms (deadline ${deadlineMs} ms)`);
  const met = successRate >= 0.999 && counts.over_deadline === 0 && nonIdempotentCodes.every((c) => c === "UNAVAILABLE")
    && recoveredMs <= 2_000 && probe === "ok" && counts.kills > 0;
  return {
    id: "workers.sigkill",
    what: `${seconds} s of 50 clients calling idempotent echo (and 5 calling a non-idempotent tool) on a pool of ${size} while a random worker is SIGKILLed every 200 ms`,
    counts: { ...counts, recovery_ms: Math.round(recoveredMs) },
    figure: `${pct(counts.idempotent_ok, counts.idempotent_calls)} of ${counts.idempotent_calls} idempotent calls succeeded through ${counts.kills} kills; non-idempotent failures: ${nonIdempotentCodes.join(", ") || "none"}; pool whole ${Math.round(recoveredMs)} ms after the last kill`,
    goal: ">= 99.9% succeed; every call answered within its deadline; non-idempotent calls fail only UNAVAILABLE; pool back to full size within 2 s of the last kill",
    met,
    notes,
  };
}
