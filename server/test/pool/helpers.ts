import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { createLogger } from "../../src/log/index.js";
import { createPool, type Pool, type PoolConfigInput, type PoolEvent, type PoolEventKind } from "../../src/pool/index.js";

/** A pool of real Python workers running the sample adapter, closed when the test ends. */
export async function startPool(config: Partial<PoolConfigInput> = {}, { waitReady = true } = {}): Promise<Pool> {
  // One worker unless the test sizes the pool otherwise (size, or minSize/maxSize: autoscaling).
  const size = config.minSize === undefined && config.maxSize === undefined ? 1 : undefined;
  const pool = await createPool({ name: "test", size, ...config }, { logger: createLogger("silent") });
  onTestFinished(() => pool.close(2_000));
  if (waitReady) await pool.ready();
  return pool;
}

/** The next event of a kind (subscribe before causing it). */
export function nextEvent(pool: Pool, kind: PoolEventKind): Promise<PoolEvent> {
  return once(pool.events, kind).then(([event]) => event as PoolEvent);
}

export async function pidOf(pool: Pool, options: { sessionId?: string } = {}): Promise<number> {
  return (await pool.execute("pid", {}, { ...options, timeoutMs: 5_000 })) as number;
}

/** A listening Unix socket in a fresh directory; socket, connections and directory go when the test ends. */
async function unixSocket(onConnection: (socket: Socket) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "pyfleet-sock-"));
  const path = join(dir, "sock");
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    onConnection(socket);
  });
  server.listen(path);
  await once(server, "listening");
  onTestFinished(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return path;
}

/**
 * A Unix socket a tool reports to (the testing tools' `marker`), and the text
 * of the first report: the test waits for that message, not for a file.
 */
export async function reportSocket(): Promise<{ path: string; report: (timeoutMs?: number) => Promise<string> }> {
  let resolve!: (text: string) => void;
  const first = new Promise<string>((r) => (resolve = r));
  let reports = 0;
  const path = await unixSocket((socket) => {
    if (reports++ > 0) return;
    let text = "";
    socket.setEncoding("utf8").on("data", (chunk: string) => (text += chunk)).on("end", () => resolve(text));
  });
  const report = async (timeoutMs = 15_000) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no tool reported to ${path} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([first, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { path, report };
}

/**
 * A Unix socket where `parties` calls meet (the environ tool's `barrier`):
 * each connects, and all are answered "go" once the last has connected.
 */
export async function barrierSocket(parties: number): Promise<string> {
  const waiting: Socket[] = [];
  return unixSocket((socket) => {
    waiting.push(socket);
    if (waiting.length === parties) for (const s of waiting) s.end("go");
  });
}
