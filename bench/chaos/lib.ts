import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { codeName } from "@pyfleet/sdk";
import { PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { isAlive, parentOf } from "../../server/test/procs.js";
import { startChild } from "../lib.js";
import { createServer, type PyfleetServer, type ServerConfigInput } from "../../server/src/index.js";

/** How big a run is: `test` inside `npm test`, `quick` for `npm run chaos -- --quick`, `full` for the figures. */
export { isAlive };

export type Scale = "test" | "quick" | "full";

export interface ChaosOptions {
  scale: Scale;
  log(line: string): void;
}

/** One scenario's entry of bench/results/reliability.json. */
export interface ChaosResult {
  id: string;
  /** What was done, for people. */
  what: string;
  /** What happened, counted. */
  counts: Record<string, number>;
  /** The headline figure, e.g. "99.98% succeeded". */
  figure: string;
  goal: string;
  met: boolean;
  /** Each check that failed, or notable observations. */
  notes: string[];
}

export type Protocol = "connect" | "grpc" | "grpc-web";

export function byScale<T>(scale: Scale, values: Record<Scale, T>): T {
  return values[scale];
}

export interface StartOptions {
  /** Where log lines go (with `logLevel` in the config); default none. */
  logDestination?: NodeJS.WritableStream;
  /** Wait for every pool to be ready (default true). */
  waitReady?: boolean;
}

/** A server in this process on a free port with a temp data dir; `close` removes both. */
export async function startServer(config: ServerConfigInput = {}, options: StartOptions = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "pyfleet-chaos-"));
  const { logDestination, waitReady = true } = options;
  const server: PyfleetServer = await createServer({ port: 0, logLevel: "silent", dataDir, ...config }, logDestination ? { logDestination } : {});
  if (waitReady) await server.ready();
  return {
    server,
    dataDir,
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A free TCP port on loopback, for a server that must come back on the same port. */
export async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** `pyfleet serve` with its embedded defaults as a child process, so its memory and processes are its own. */
export function serveChild(port: number, dataDir: string, env: Record<string, string> = {}) {
  return startChild("node", ["--conditions=pyfleet-source", "--import", "tsx", "server/src/cli/main.ts", "serve"], {
    PYFLEET_PORT: String(port), PYFLEET_DATA_DIR: dataDir, PYFLEET_LOG_LEVEL: "info", ...env,
  }, (info) => info.ready === true);
}

export function transportFor(url: string, protocol: Protocol = "connect", apiKey?: string) {
  const options = {
    baseUrl: url,
    httpVersion: "2" as const,
    interceptors: apiKey ? [(next: (req: never) => never) => (req: { header: Headers }) => {
      req.header.set("authorization", `Bearer ${apiKey}`);
      return next(req as never);
    }] : [],
  };
  return protocol === "grpc" ? createGrpcTransport(options as never) : protocol === "grpc-web" ? createGrpcWebTransport(options as never) : createConnectTransport(options as never);
}

export function poolClient(url: string, protocol: Protocol = "connect", apiKey?: string): Client<typeof PoolService> {
  return createClient(PoolService, transportFor(url, protocol, apiKey));
}

/** The status code name of an RPC error ("UNAVAILABLE"). */
export function codeOf(e: unknown): string {
  return codeName(ConnectError.from(e).code).toUpperCase();
}

/**
 * The V8 heap in use by a server, from its Prometheus metrics. Sampled often,
 * the lowest figure in a window is the heap right after a collection: what
 * the server keeps, without garbage not yet collected.
 */
export async function heapUsedBytes(url: string): Promise<number> {
  const res = await fetch(`${url}/metrics`);
  const match = /^pyfleet_process_nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(await res.text());
  if (!match) throw new Error("the server's /metrics has no pyfleet_process_nodejs_heap_size_used_bytes");
  return Number(match[1]);
}

export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : 0;
}

export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Every live process whose command line mentions `needle` (e.g. a data dir or a port). */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ");
      const environ = cmdline.includes(needle) ? "" : readFileSync(`/proc/${entry}/environ`, "utf8");
      if ((cmdline.includes(needle) || environ.includes(needle)) && isAlive(Number(entry))) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** Every live process below `root` in the process tree (children, their children, ...), from /proc. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = parentOf(Number(entry));
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      if (isAlive(child)) out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

/** The open sockets and files of a process, by kind, for leak reports. */
export function fdKinds(pid: number): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const kind = target.startsWith("socket:") ? "socket" : target.startsWith("pipe:") ? "pipe" : target.startsWith("anon_inode:") ? target : "file";
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    } catch {
      // closed meanwhile
    }
  }
  return kinds;
}

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function pct(part: number, whole: number, digits = 3): string {
  return whole === 0 ? "n/a" : `${((100 * part) / whole).toFixed(digits)}%`;
}

/** Resolves when `emitter` emits `event` with a value satisfying `test`, or rejects after `ms`. */
export function eventWithin<T>(emitter: NodeJS.EventEmitter, event: string, test: (value: T) => boolean, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no "${event}" event within ${ms} ms`));
    }, ms);
    const on = (value: T) => {
      if (!test(value)) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(value);
    };
    emitter.on(event, on);
  });
}
