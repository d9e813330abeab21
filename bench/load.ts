// A load generator in its own process (so client work does not share the
// server's event loop). Usage: load.ts '<json options>'; prints one JSON line.
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { createClient as createSdkClient, type ManyRequest } from "@pyfleet/sdk/node";
import { closedLoop, percentile, sequential } from "./lib.js";

interface Options {
  url: string;
  mode: "unary" | "sequential" | "pipeline" | "stream" | "first-chunk";
  clients?: number;
  ms?: number;
  n?: number;
  window?: number;
}

const options = JSON.parse(process.argv[2]!) as Options;
const managers: Http2SessionManager[] = [];

function client(): Client<typeof PoolService> {
  const sessionManager = new Http2SessionManager(options.url);
  managers.push(sessionManager);
  return createClient(PoolService, createConnectTransport({ baseUrl: options.url, httpVersion: "2", sessionManager }));
}

const ARGS = { text: "hello", n: 1 };
/** What the SDKs ask for (ExecuteStreamRequest.max_chunks_per_message). */
const CHUNKS_PER_MESSAGE = 256;

async function main() {
  switch (options.mode) {
    case "sequential": {
      const c = client();
      for (let i = 0; i < 200; i++) await c.execute({ tool: "echo", args: ARGS });
      const lat = await sequential(options.n ?? 2000, () => c.execute({ tool: "echo", args: ARGS }));
      return { p50_ms: percentile(lat, 0.5), p99_ms: percentile(lat, 0.99) };
    }
    case "unary": {
      // `clients` connections, one call in flight on each (closed loop).
      const clients = Array.from({ length: options.clients ?? 50 }, client);
      await Promise.all(clients.map((c) => c.execute({ tool: "echo", args: ARGS })));
      let next = 0;
      const r = await closedLoop(clients.length, options.ms ?? 5_000, () => clients[next++ % clients.length]!.execute({ tool: "echo", args: ARGS }));
      return { ops: r.opsPerSecond, p50_ms: percentile(r.latencies, 0.5), p99_ms: percentile(r.latencies, 0.99), errors: r.errors, total: r.total };
    }
    case "pipeline": {
      // One ExecuteMany stream with `window` calls outstanding, through the
      // SDK as users call it (calls and answers batched per message).
      const c = createSdkClient({ baseUrl: options.url });
      const window = options.window ?? 256;
      const until = performance.now() + (options.ms ?? 5_000);
      let sent = 0;
      let received = 0;
      let release: (() => void) | undefined;
      async function* requests(): AsyncGenerator<ManyRequest> {
        while (performance.now() < until) {
          while (sent - received >= window) await new Promise<void>((r) => (release = r));
          yield { id: String(sent++), tool: "echo", args: ARGS };
        }
      }
      const start = performance.now();
      let errors = 0;
      for await (const res of c.pool.executeMany(requests())) {
        received++;
        if (!res.ok) errors++;
        release?.();
        release = undefined;
      }
      const ops = received / ((performance.now() - start) / 1000);
      c.close();
      return { ops, errors, total: received };
    }
    case "stream": {
      const c = client();
      const n = options.n ?? 100_000;
      const start = performance.now();
      let chunks = 0;
      // As the SDKs read a stream: chunks batched per message, each parsed.
      for await (const m of c.executeStream({ tool: "count", args: { n }, maxChunksPerMessage: CHUNKS_PER_MESSAGE })) {
        if (m.event.case === "chunkBatch") {
          for (const json of m.event.value.json) JSON.parse(json);
          chunks += m.event.value.json.length;
        } else if (m.event.case === "chunk") chunks++;
      }
      const seconds = (performance.now() - start) / 1000;
      return { chunksPerSecond: chunks / seconds, chunks };
    }
    case "first-chunk": {
      const c = client();
      const lat: number[] = [];
      for (let i = 0; i < (options.n ?? 50); i++) {
        const t = performance.now();
        for await (const m of c.executeStream({ tool: "count", args: { n: 1 }, maxChunksPerMessage: CHUNKS_PER_MESSAGE })) {
          if (m.event.case === "chunkBatch" || m.event.case === "chunk") lat.push(performance.now() - t);
        }
      }
      lat.sort((a, b) => a - b);
      return { p50_ms: percentile(lat, 0.5), p99_ms: percentile(lat, 0.99) };
    }
  }
}

const result = await main();
for (const m of managers) m.abort();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
