import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopChild } from "../../lib.js";
import { byScale, type ChaosOptions, type ChaosResult, fdCount, freePort, poolClient, rssBytes, serveChild } from "../lib.js";

const MB = 1024 * 1024;

/** Server and worker processes: the server's pid and its Python children. */
function workerPids(serverPid: number): number[] {
  try {
    const children = new Set<number>();
    const stack = [serverPid];
    while (stack.length > 0) {
      const pid = stack.pop()!;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8");
        for (const child of text.split(" ").filter(Boolean).map(Number)) {
          children.add(child);
          stack.push(child);
        }
      }
    }
    return [...children];
  } catch {
    return [];
  }
}

interface Sample {
  at: number;
  serverRss: number;
  workersRss: number;
  fds: number;
  sessions: number;
}

/**
 * Mixed load for a long time (10 minutes in the full run): unary calls,
 * streams, sessions with short TTLs that are used and abandoned, variables.
 * Memory, file descriptors and the session count are sampled; after the
 * first fifth (warm-up) they must stay flat, and abandoned sessions must
 * expire by their TTL.
 */
export async function soak(o: ChaosOptions): Promise<ChaosResult> {
  const seconds = byScale(o.scale, { test: 12, quick: 60, full: 600 });
  const ttlSeconds = 2;
  const dataDir = mkdtempSync(join(tmpdir(), "pyfleet-soak-"));
  const configFile = join(dataDir, "pyfleet.json");
  writeFileSync(configFile, JSON.stringify({ pools: [{ name: "default", size: 2, sessionSweepMs: 200 }] }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await serveChild(port, dataDir, { PYFLEET_CONFIG: configFile});
  const pid = server.child.pid!;
  const client = poolClient(url);
  const counts = { calls: 0, errors: 0, streams: 0, sessions_created: 0, variables_set: 0 };
  const errorSamples = new Set<string>();
  const samples: Sample[] = [];
  const started = performance.now();
  const end = started + seconds * 1000;
  const sample = async () => {
    const workers = workerPids(pid);
    const stats = (await client.getPoolStats({ pool: "default" })).stats;
    samples.push({
      at: (performance.now() - started) / 1000,
      serverRss: rssBytes(pid),
      workersRss: workers.reduce((sum, w) => sum + (() => { try { return rssBytes(w); } catch { return 0; } })(), 0),
      fds: fdCount(pid),
      sessions: stats?.sessions ?? 0,
    });
  };
  const sampler = setInterval(() => void sample().catch(() => undefined), Math.max(1_000, (seconds * 1000) / 60));
  const guard = async (p: Promise<unknown>) => {
    counts.calls++;
    await p.catch((e: Error) => {
      counts.errors++;
      if (errorSamples.size < 5) errorSamples.add(e.message.slice(0, 160));
    });
  };

  const unary = async () => {
    while (performance.now() < end) await guard(client.execute({ tool: "add", args: { a: 1, b: 2 } }, { timeoutMs: 10_000 }));
  };
  const streams = async () => {
    while (performance.now() < end) {
      await guard((async () => {
        let n = 0;
        for await (const _ of client.executeStream({ tool: "count", args: { n: 200 } }, { timeoutMs: 10_000 })) n++;
        counts.streams++;
        if (n < 200) throw new Error(`stream ended after ${n} of 200 messages`);
      })());
    }
  };
  // Sessions used a little, then abandoned: only their TTL ends them.
  const sessions = async () => {
    while (performance.now() < end) {
      await guard((async () => {
        const session = (await client.createSession({ ttl: { seconds: BigInt(ttlSeconds) } })).session!.id;
        counts.sessions_created++;
        await client.setVariable({ sessionId: session, name: "v", value: { kind: { case: "intValue", value: BigInt(counts.sessions_created) } } });
        counts.variables_set++;
        await client.execute({ tool: "counter", sessionId: session }, { timeoutMs: 10_000 });
        await client.execute({ tool: "getvar", args: { name: "v" }, sessionId: session }, { timeoutMs: 10_000 });
      })());
    }
  };
  await sample();
  await Promise.all([unary(), unary(), unary(), streams(), sessions(), sessions()]);
  clearInterval(sampler);
  await sample();
  // Abandoned sessions expire: wait out their TTL (plus sweeps), then count.
  await new Promise((resolve) => setTimeout(resolve, (ttlSeconds + 1) * 1000));
  await sample();
  const final = samples.at(-1)!;
  await stopChild(server.child);
  rmSync(dataDir, { recursive: true, force: true });

  // Growth after warm-up: the last fifth of the run against the second fifth.
  const during = samples.slice(0, -1);
  const fifth = (i: number) => during.filter((s) => s.at >= (i * seconds) / 5 && s.at < ((i + 1) * seconds) / 5);
  const avg = (xs: Sample[], f: (s: Sample) => number) => xs.reduce((sum, s) => sum + f(s), 0) / Math.max(1, xs.length);
  const early = fifth(1);
  const late = fifth(4).length > 0 ? fifth(4) : during.slice(-2);
  const serverGrowthMb = (avg(late, (s) => s.serverRss) - avg(early, (s) => s.serverRss)) / MB;
  const workersGrowthMb = (avg(late, (s) => s.workersRss) - avg(early, (s) => s.workersRss)) / MB;
  const fdGrowth = avg(late, (s) => s.fds) - avg(early, (s) => s.fds);
  const maxSessions = Math.max(...during.map((s) => s.sessions));
  const rate = counts.sessions_created / seconds;
  // Live sessions are bounded by creation rate x TTL (plus sweep slack), not by the run's length.
  const sessionBound = Math.ceil(rate * (ttlSeconds + 1) * 1.5) + 10;
  const notes = [`samples (s: server RSS MB / workers RSS MB / fds / sessions): ${samples.filter((_, i) => i % Math.ceil(samples.length / 8) === 0 || i === samples.length - 1).map((s) => `${Math.round(s.at)}: ${Math.round(s.serverRss / MB)}/${Math.round(s.workersRss / MB)}/${s.fds}/${s.sessions}`).join(", ")}`];
  if (errorSamples.size > 0) notes.push(`errors: ${[...errorSamples].join(" | ")}`);
  const met = counts.errors === 0 && serverGrowthMb < 32 && workersGrowthMb < 16 && fdGrowth < 5 && maxSessions <= sessionBound && final.sessions === 0;
  return {
    id: "soak.mixed",
    what: `${seconds} s of mixed load on a pool of 2: 3 clients calling add, 1 reading 200-message streams, 2 creating sessions with a ${ttlSeconds} s TTL that set a variable, call counter and getvar, then abandon them`,
    counts: { ...counts, seconds, server_rss_growth_mb: Math.round(serverGrowthMb * 10) / 10, workers_rss_growth_mb: Math.round(workersGrowthMb * 10) / 10, fd_growth: Math.round(fdGrowth), max_live_sessions: maxSessions, sessions_after_ttl: final.sessions },
    figure: `${counts.calls} calls (${counts.errors} errors), ${counts.sessions_created} sessions; from the second fifth to the last: server RSS ${serverGrowthMb >= 0 ? "+" : ""}${serverGrowthMb.toFixed(1)} MB, workers ${workersGrowthMb >= 0 ? "+" : ""}${workersGrowthMb.toFixed(1)} MB, fds ${fdGrowth >= 0 ? "+" : ""}${fdGrowth.toFixed(0)}; live sessions at most ${maxSessions} (bound ${sessionBound}), ${final.sessions} after the TTL`,
    goal: "no growth in server or worker RSS (< 32 MB / 16 MB after warm-up), file descriptors or session count beyond TTL",
    met,
    notes,
  };
}
