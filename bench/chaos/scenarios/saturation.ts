import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { ExecuteStreamRequestSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { stopChild } from "../../lib.js";
import { byScale, type ChaosOptions, type ChaosResult, codeOf, freePort, percentile, poolClient, rssBytes, serveChild } from "../lib.js";

const MB = 1024 * 1024;

/**
 * Ten times more clients than the pool can hold (workers plus queue) call a
 * 20 ms tool: the excess is refused with RESOURCE_EXHAUSTED at once, and the
 * queue and memory stay bounded. Then a client opens a stream of millions of
 * chunks and never reads it: backpressure holds the worker, memory stays
 * flat, and other calls still run.
 */
export async function saturation(o: ChaosOptions): Promise<ChaosResult> {
  const seconds = byScale(o.scale, { test: 3, quick: 6, full: 20 });
  const size = 2;
  const queueMaxSize = 20;
  const clients = 10 * (size + queueMaxSize);
  // A server of its own, so its memory is measured apart from 220 clients'.
  const dataDir = mkdtempSync(join(tmpdir(), "pyfleet-saturation-"));
  const configFile = join(dataDir, "pyfleet.json");
  writeFileSync(configFile, JSON.stringify({ shutdownGraceMs: 1_000, pools: [{ name: "default", size, queueMaxSize }] }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await serveChild(port, dataDir, { PYFLEET_CONFIG: configFile });
  const pid = server.child.pid!;
  const client = poolClient(url);
  const queueDepth = async () => (await client.getPoolStats({ pool: "default" })).stats?.queueDepth ?? 0;
  const counts = { calls: 0, ok: 0, resource_exhausted: 0, other_errors: 0, max_queue_depth: 0 };
  const rejectMs: number[] = [];
  const servedMs: number[] = [];
  const notes: string[] = [];
  const rssBefore = rssBytes(pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    void queueDepth().then((depth) => (counts.max_queue_depth = Math.max(counts.max_queue_depth, depth)), () => undefined);
    rssPeak = Math.max(rssPeak, rssBytes(pid));
  }, 20);

  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < end) {
      const started = performance.now();
      counts.calls++;
      try {
        await client.execute({ tool: "sleep", args: { seconds: 0.02 } }, { timeoutMs: 30_000 });
        counts.ok++;
        servedMs.push(performance.now() - started);
      } catch (e) {
        if (codeOf(e) === "RESOURCE_EXHAUSTED") {
          counts.resource_exhausted++;
          rejectMs.push(performance.now() - started);
          // A polite client backs off (with jitter) before trying again.
          await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
        } else {
          counts.other_errors++;
          if (notes.length < 3) notes.push(`unexpected ${codeOf(e)}: ${(e as Error).message}`);
        }
      }
    }
  }));
  const rssAfterLoad = rssBytes(pid);

  // A stream nobody reads: raw HTTP/2 so no client library buffers it for us.
  const session = connect(url);
  session.on("error", () => undefined);
  const body = Buffer.from(toBinary(ExecuteStreamRequestSchema, create(ExecuteStreamRequestSchema, { tool: "count", args: { n: 10_000_000 } })));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  const stream = session.request({ ":method": "POST", ":path": "/pyfleet.pool.v1.PoolService/ExecuteStream", "content-type": "application/connect+proto", "connect-protocol-version": "1" });
  stream.pause();
  stream.end(Buffer.concat([head, body]));
  await new Promise((resolve) => stream.once("response", resolve));
  const rssStreamStart = rssBytes(pid);
  // First nothing else runs, so memory growth would be the stream's; then other calls run beside it.
  const holdMs = Math.min(seconds, 5) * 500;
  await new Promise((resolve) => setTimeout(resolve, holdMs / 2));
  const rssStreamHalf = rssBytes(pid);
  await new Promise((resolve) => setTimeout(resolve, holdMs / 2));
  const rssStreamEnd = rssBytes(pid);
  const rssStreamPeak = Math.max(rssStreamStart, rssStreamHalf, rssStreamEnd);
  let othersOk = 0;
  let othersFailed = 0;
  const othersEnd = performance.now() + holdMs;
  while (performance.now() < othersEnd) {
    await client.execute({ tool: "echo", args: { beside: "stream" } }, { timeoutMs: 5_000 }).then(() => othersOk++, () => othersFailed++);
  }
  stream.close();
  session.close();
  clearInterval(sampler);
  await stopChild(server.child);
  rmSync(dataDir, { recursive: true, force: true });

  rejectMs.sort((a, b) => a - b);
  servedMs.sort((a, b) => a - b);
  const rejectP50 = percentile(rejectMs, 0.5);
  const rejectP99 = percentile(rejectMs, 0.99);
  const servedP50 = percentile(servedMs, 0.5);
  const streamGrowthMb = (rssStreamPeak - rssStreamStart) / MB;
  // Bounded: what the server holds for the unread stream stops growing (the chunk window and HTTP/2 flow control hold the worker).
  const streamSecondHalfMb = (rssStreamEnd - rssStreamHalf) / MB;
  // The goal as stated: a refused client learns it sooner, even at the tail, than a typical served one.
  const met = counts.resource_exhausted > 0 && rejectP50 < 50 && rejectP99 < servedP50 && counts.max_queue_depth <= queueMaxSize && counts.other_errors === 0
    && (rssPeak - rssBefore) / MB < 200 && streamSecondHalfMb < 16 && othersOk > 0 && othersFailed === 0;
  notes.push(`server RSS ${Math.round(rssBefore / MB)} MB before, peak ${Math.round(rssPeak / MB)} MB, ${Math.round(rssAfterLoad / MB)} MB after the load`);
  return {
    id: "pool.saturation",
    what: `${seconds} s of ${clients} clients (10x the ${size} workers plus ${queueMaxSize} queue places) calling a 20 ms tool; then a stream of 10,000,000 chunks that is never read while other calls run`,
    counts: { ...counts, reject_p50_ms: Math.round(percentile(rejectMs, 0.5) * 10) / 10, reject_p99_ms: Math.round(rejectP99 * 10) / 10, served_p50_ms: Math.round(servedP50), unread_stream_rss_growth_mb: Math.round(streamGrowthMb), unread_stream_second_half_mb: Math.round(streamSecondHalfMb), calls_beside_unread_stream: othersOk },
    figure: `${counts.resource_exhausted} of ${counts.calls} calls refused RESOURCE_EXHAUSTED in p50 ${rejectP50.toFixed(1)} ms / p99 ${rejectP99.toFixed(1)} ms, ${counts.ok} served in p50 ${servedP50.toFixed(0)} ms, queue never above ${counts.max_queue_depth}; unread stream: server RSS +${Math.round(streamGrowthMb)} MB at most (+${Math.round(streamSecondHalfMb)} MB over its second half) while ${othersOk} other calls ran`,
    goal: "RESOURCE_EXHAUSTED promptly (p50 < 50 ms, p99 below a served call's p50, clients backing off 100-300 ms); queue and server memory stay bounded",
    met,
    notes,
  };
}
