// `pyfleet serve --processes 2` through the real CLI: two processes share the
// port (and one SQLite file); a client's connection lands on either. Sessions,
// variables, watches and streams work whichever process a connection reaches,
// since a call for a session the other process owns takes one hop there.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, Code, type ConnectError } from "@connectrpc/connect";
import { PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { describe, expect, it, onTestFinished } from "vitest";
import { processConfig, workerShare } from "../../src/cli/processes.js";
import { resolveConfig } from "../../src/config/index.js";
import { clientFor } from "../clients.js";
import { waitForExit } from "../procs.js";
import { type LogEntry, nextLog, type ServeProcess, startServe } from "../serve-process.js";

type PoolClient = Client<typeof PoolService>;

interface Served extends ServeProcess {
  /** The replica ids of the processes, from the primary's listening line. */
  replicas: string[];
  /** Pids of the processes, from their own listening lines, in order (replacements too). */
  pids: number[];
  pidOf: Map<string, number>;
}

async function serveProcesses(count: number): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), "pyfleet-processes-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "pyfleet.yaml");
  writeFileSync(file, JSON.stringify({ port: 0, dataDir: dir, pools: [{ name: "default", size: 2 }] }));
  const pids: number[] = [];
  const pidOf = new Map<string, number>();
  const served = await startServe(["-c", file, "--processes", String(count)], {
    onLog: (entry) => {
      if (isProcessListening(entry)) {
        pids.push(entry.pid!);
        pidOf.set(entry.replica!, entry.pid!);
      }
    },
    listening: (entry) => entry.msg?.endsWith(`(${count} processes)`) === true,
  });
  return { ...served, replicas: served.listened.replicas ?? [], pids, pidOf };
}

/** One process's own listening line (the primary's names them all). */
const isProcessListening = (entry: LogEntry) => entry.msg?.startsWith("pyfleet listening") === true && entry.replica !== undefined && entry.pid !== undefined;

/** Opens connections until one lands on each process; returns a client per replica id. */
async function clientPerProcess(url: string, replicas: string[]): Promise<Map<string, PoolClient>> {
  const found = new Map<string, PoolClient>();
  for (let i = 0; i < 50 && found.size < replicas.length; i++) {
    // A client of its own: a new HTTP/2 connection, which the primary hands to the next process.
    const client = clientFor(PoolService, url);
    let served = "";
    await client.listPools({}, { onHeader: (h) => (served = h.get("pyfleet-replica") ?? "") });
    expect(replicas).toContain(served);
    // The same connection stays on its process.
    let again = "";
    await client.listPools({}, { onHeader: (h) => (again = h.get("pyfleet-replica") ?? "") });
    expect(again).toBe(served);
    if (!found.has(served)) found.set(served, client);
  }
  expect(found.size).toBe(replicas.length);
  return found;
}

const json = (text: string) => JSON.parse(text) as unknown;

describe("pyfleet serve --processes", () => {
  it("splits each pool's workers among the processes", () => {
    expect([0, 1, 2].map((i) => workerShare(4, i, 3))).toEqual([2, 1, 1]);
    expect([0, 1].map((i) => workerShare(1, i, 2))).toEqual([1, 1]);
    expect(workerShare(0, 0, 2)).toBe(0);
    const config = resolveConfig({ pools: [{ name: "a", size: 5 }, { name: "b", size: 0 }] });
    expect(processConfig(config, 1, 2).pools.map((p) => [p.name, p.size])).toEqual([["a", 2], ["b", 0]]);
    // Autoscaling pools split their bounds; a pool that scales to zero keeps doing so in each process.
    const scaling = resolveConfig({ pools: [{ name: "a", minSize: 3, maxSize: 8 }, { name: "b", minSize: 0, maxSize: 3 }, { name: "c" }] });
    expect([0, 1].map((i) => processConfig(scaling, i, 2).pools.map((p) => [p.name, p.size, p.minSize, p.maxSize]))).toEqual([
      [["a", undefined, 2, 4], ["b", undefined, 0, 2], ["c", 1, undefined, undefined]],
      [["a", undefined, 1, 4], ["b", undefined, 0, 1], ["c", 1, undefined, undefined]],
    ]);
  });

  it("serves sessions, variables, watches and streams whichever process a connection lands on", async () => {
    const served = await serveProcesses(2);
    expect(served.replicas).toHaveLength(2);
    const clients = await clientPerProcess(served.url, served.replicas);
    const [first, second] = served.replicas.map((r) => clients.get(r)!);

    const sessionId = (await first!.createSession({})).session!.id;
    expect(sessionId.endsWith(`.${served.replicas[0]}`)).toBe(true);
    const counter = async (c: PoolClient) => json((await c.execute({ tool: "counter", sessionId, resultAsJson: true }, { timeoutMs: 30_000 })).resultJson);
    expect([await counter(second!), await counter(first!), await counter(second!)]).toEqual([1, 2, 3]);

    await second!.setVariable({ sessionId, name: "limit", value: { kind: { case: "intValue", value: 7n } } });
    const abort = new AbortController();
    const watch = first!.watchVariables({ sessionId, includeInitial: true }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await watch.next()).value?.variable?.name).toBe("limit");
    const next = watch.next();
    expect(json((await second!.execute({ tool: "setvar", sessionId, args: { name: "limit", value: 8 }, resultAsJson: true })).resultJson)).toBe(2);
    expect((await next).value?.variable?.version).toBe(2n);
    abort.abort();
    expect(json((await first!.execute({ tool: "getvar", sessionId, args: { name: "limit" }, resultAsJson: true })).resultJson)).toBe(8);

    const chunks: string[] = [];
    for await (const m of second!.executeStream({ tool: "count", args: { n: 4 }, sessionId, maxChunksPerMessage: 16 })) {
      if (m.event.case === "chunkBatch") chunks.push(...m.event.value.json);
    }
    expect(chunks.map(json)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }]);

    // A process that dies is replaced; the session's owner is gone with it, the other keeps serving.
    const pythons = [first!, second!].map(async (c) => json((await c.execute({ tool: "pid", resultAsJson: true })).resultJson) as number);
    const [ownerPython, otherPython] = await Promise.all(pythons);
    expect(served.pids).toHaveLength(2);
    const replacement = nextLog(served, isProcessListening, 60_000, "a replacement process listening");
    process.kill(served.pidOf.get(served.replicas[0]!)!, "SIGKILL");
    await replacement;
    expect(served.pids).toHaveLength(3);
    await waitForExit([ownerPython!], 10_000);
    const gone = await second!.getSession({ sessionId }).then(() => undefined, (e: unknown) => e as ConnectError);
    expect(gone?.code).toBe(Code.NotFound);
    expect(gone?.rawMessage).toContain(`its server (replica ${served.replicas[0]}) is gone`);
    expect(json((await second!.execute({ tool: "add", args: { a: 1, b: 2 }, resultAsJson: true })).resultJson)).toBe(3);

    // SIGTERM to the primary stops every process and their Python workers, then it exits 0.
    served.child.kill("SIGTERM");
    expect(await served.exited).toBe(0);
    await waitForExit([...served.pids, otherPython!], 15_000);
  }, 120_000);
});
