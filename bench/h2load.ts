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
  /** Measure for this long (after a 1 s warm-up)... */
  seconds?: number;
  /** ...or send exactly this many requests. */
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
      "-m", "1",
      ...(o.seconds !== undefined ? ["-D", String(o.seconds), "--warm-up-time", "1"] : ["-n", String(o.requests ?? 1000)]),
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
    const errors = Math.max(Number(requests[5]), done - ok);
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
