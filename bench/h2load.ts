// h2load (Debian's nghttp2-client) as the e2e load generator: a C client on
// its own thread, so the figures measure the server rather than a Node client
// sharing its two cores. Per-request latencies come from its --log-file.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { percentile } from "./lib.js";

const run = promisify(execFile);

export const H2LOAD_INSTALL = "apt-get install -y nghttp2-client   (Debian/Ubuntu; h2load is part of nghttp2)";

/** Throws with how to install h2load when it is not on PATH. */
export function ensureH2load(): string {
  try {
    return execFileSync("h2load", ["--version"], { encoding: "utf8" }).trim().split("\n")[0]!;
  } catch {
    throw new Error(`h2load is not installed; the e2e benchmarks use it as their load generator. Install it with:\n  ${H2LOAD_INSTALL}`);
  }
}

export interface H2loadOptions {
  url: string;
  /** HTTP/1.1 (true) or h2c with prior knowledge. */
  h1: boolean;
  body: Uint8Array;
  headers: Record<string, string>;
  connections: number;
  /** Streams in flight per connection (h2load -m; default 1). */
  streams?: number;
  /** Measure for this long (after a 1 s warm-up; h2load cuts the streams in flight when it ends)... */
  seconds?: number;
  /** ...or send exactly this many requests (every one of them finishes). */
  requests?: number;
}

export interface H2loadResult {
  /** Successful (2xx) responses per second of measurement. */
  rps: number;
  ok: number;
  /** Requests h2load saw fail: non-2xx, transport errors, timeouts. */
  errors: number;
  p50_ms: number;
  p99_ms: number;
  seconds: number;
}

export async function h2load(o: H2loadOptions): Promise<H2loadResult> {
  const dir = mkdtempSync(join(tmpdir(), "pyfleet-h2load-"));
  try {
    const bodyFile = join(dir, "body");
    const logFile = join(dir, "log");
    writeFileSync(bodyFile, o.body);
    const args = [
      ...(o.h1 ? ["--h1"] : []),
      "-t", "1",
      "-c", String(o.connections),
      "-m", String(o.streams ?? 1),
      // A fixed count has no end of its own: a server that stops answering fails its requests after 30 s idle instead of hanging the run.
      ...(o.seconds !== undefined ? ["-D", String(o.seconds), "--warm-up-time", "1"] : ["-n", String(o.requests ?? 1000), "-N", "30"]),
      "-d", bodyFile,
      "--log-file", logFile,
      ...Object.entries(o.headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
      o.url,
    ];
    const { stdout } = await run("h2load", args, { maxBuffer: 16 * 1024 * 1024 });
    const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
    const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
    const finished = /finished in ([\d.]+)(ms|s), ([\d.]+) req\/s/.exec(stdout);
    if (!requests || !codes || !finished) throw new Error(`h2load printed no summary:\n${stdout}`);
    const seconds = Number(finished[1]) / (finished[2] === "ms" ? 1000 : 1);
    const ok = Number(codes[1]);
    const done = Number(requests[3]);
    // Every finished request that did not come back 2xx is an error, whatever h2load's own buckets say
    // ("failed" counts errored and timed-out requests too; ones cut off when the duration ends are neither).
    // With a fixed count nothing is cut, so a request that never finished (its connection died) is one too.
    const errors = Math.max(Number(requests[5]), (o.seconds !== undefined ? done : Number(requests[1])) - ok);
    const latencies: number[] = [];
    for (const line of readFileSync(logFile, "utf8").split("\n")) {
      const [, status, us] = line.split("\t");
      if (status !== undefined && status.startsWith("2")) latencies.push(Number(us) / 1000);
    }
    latencies.sort((a, b) => a - b);
    // h2load's req/s covers the measurement only (not the warm-up): scale it to the successful share.
    const rps = done > 0 ? Number(finished[3]) * (ok / done) : 0;
    return { rps, ok, errors, p50_ms: percentile(latencies, 0.5), p99_ms: percentile(latencies, 0.99), seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** How much longer than asked a sized run is planned to last (the rate moves between runs). */
export const SIZING_MARGIN = 1.2;

/**
 * Warms a server up and sizes a run of about `seconds` of load as a fixed
 * number of requests (h2load -n), so that no stream is cut when the time is up
 * (with -D h2load counts those as failed, and the server sees them as canceled
 * calls): an error then is a real one. The warm-up (what -D's
 * --warm-up-time 1 did; not counted) grows from a few requests per connection
 * until one run lasts about a second, whose rate sizes the measurement; the
 * count carries a margin so that the run lasts at least `seconds` unless the
 * server speeds up by more than that. Returns the number of requests.
 */
export async function warmAndSize(o: Omit<H2loadOptions, "seconds" | "requests">, seconds: number): Promise<number> {
  const floor = o.connections * 4;
  let requests = floor;
  let rate = 0;
  // Each try aims at 1.2 s from the last rate; a cold server's first runs are short and slow, so a few tries.
  for (let tries = 0; tries < 5; tries++) {
    const r = await h2load({ ...o, requests });
    rate = r.rps;
    if (r.seconds >= 0.8 || rate === 0) break;
    requests = Math.max(floor, Math.ceil(rate * 1.2));
  }
  return Math.max(floor, Math.ceil(rate * seconds * SIZING_MARGIN));
}
