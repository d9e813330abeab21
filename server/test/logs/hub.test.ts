import { describe, expect, it } from "vitest";
import { type LogBatch, LogHub, type LogHubOptions, type LogInput, logViewer } from "../../src/logs/index.js";

const OPTIONS: LogHubOptions = { bufferRecords: 100, bufferBytes: 1 << 20, readerQueue: 10, maxMessageBytes: 1024 };
const ALL = logViewer("", []);

function line(message: string, fields: Partial<LogInput> = {}): LogInput {
  return {
    level: "info", message, source: "stdout", logger: "stdout", pool: "p", workerId: "w1", workerPid: 10,
    sessionId: "", requestId: "", tool: "", tenant: "", ...fields,
  };
}

async function collect(batches: AsyncIterable<LogBatch>): Promise<LogBatch[]> {
  const out: LogBatch[] = [];
  for await (const b of batches) out.push(b);
  return out;
}

const messages = (batches: LogBatch[]) => batches.flatMap((b) => b.records.map((r) => r.message));

describe("LogHub", () => {
  it("holds the newest records up to bufferRecords and bufferBytes, numbering them", () => {
    const hub = new LogHub({ ...OPTIONS, bufferRecords: 3 });
    for (let i = 1; i <= 5; i++) hub.write(line(`m${i}`));
    const held = hub.held({}, ALL);
    expect(held.map((r) => [r.seq, r.message])).toEqual([[3, "m3"], [4, "m4"], [5, "m5"]]);

    // Each record costs its strings plus a fixed overhead (160): 1000 bytes hold two 200-character messages.
    const small = new LogHub({ ...OPTIONS, bufferBytes: 1000 });
    for (let i = 0; i < 5; i++) small.write(line(`${i}`.padEnd(200, "x")));
    expect(small.held({}, ALL).map((r) => r.message[0])).toEqual(["3", "4"]);
  });

  it("cuts a long message at maxMessageBytes on a character boundary and says how much was cut", () => {
    const hub = new LogHub({ ...OPTIONS, maxMessageBytes: 256 });
    hub.write(line("é".repeat(200)));
    const [record] = hub.held({}, ALL);
    expect(record!.message).toBe(`${"é".repeat(128)}... (144 more bytes cut)`);
  });

  it("filters by pool, worker, session, request and minimum level, and sends the newest `tail`", () => {
    const hub = new LogHub(OPTIONS);
    hub.write(line("a", { pool: "p", level: "debug" }));
    hub.write(line("b", { pool: "q", workerId: "w2", level: "warning" }));
    hub.write(line("c", { pool: "p", sessionId: "s1", requestId: "r1", level: "error" }));
    hub.write(line("d", { pool: "p", level: "info" }));
    const pick = (filter: Parameters<LogHub["held"]>[0], tail?: number) => hub.held(filter, ALL, tail).map((r) => r.message);
    expect(pick({ pool: "p" })).toEqual(["a", "c", "d"]);
    expect(pick({ workerId: "w2" })).toEqual(["b"]);
    expect(pick({ sessionId: "s1" })).toEqual(["c"]);
    expect(pick({ requestId: "r1" })).toEqual(["c"]);
    expect(pick({ minLevel: "warning" })).toEqual(["b", "c"]);
    expect(pick({ minLevel: "info", pool: "p" })).toEqual(["c", "d"]);
    expect(pick({}, 2)).toEqual(["c", "d"]);
    expect(pick({}, 0)).toEqual([]);
  });

  it("shows a tenant its own calls' records only; operators and key-less servers see all", () => {
    const hub = new LogHub(OPTIONS);
    hub.write(line("alice's", { tenant: "alice", sessionId: "same" }));
    hub.write(line("bob's", { tenant: "bob", sessionId: "same" }));
    hub.write(line("outside any call", { tenant: null }));
    expect(hub.held({}, logViewer("alice", ["ops"])).map((r) => r.message)).toEqual(["alice's"]);
    expect(hub.held({ sessionId: "same" }, logViewer("bob", ["ops"])).map((r) => r.message)).toEqual(["bob's"]);
    expect(hub.held({}, logViewer("ops", ["ops"])).map((r) => r.message)).toEqual(["alice's", "bob's", "outside any call"]);
    expect(hub.held({}, logViewer("", [])).map((r) => r.message)).toEqual(["alice's", "bob's", "outside any call"]);
  });

  it("without follow sends the held records in batches and ends", async () => {
    const hub = new LogHub(OPTIONS);
    for (let i = 0; i < 5; i++) hub.write(line(`m${i}`));
    const batches = await collect(hub.watch({ filter: {}, viewer: ALL, follow: false, signal: new AbortController().signal, maxBatch: 2 }));
    expect(batches.map((b) => b.records.length)).toEqual([2, 2, 1]);
    expect(messages(batches)).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    expect(hub.readerCount).toBe(0);
  });

  it("with follow sends the tail, then new records until the signal aborts", async () => {
    const hub = new LogHub(OPTIONS);
    hub.write(line("old 1"));
    hub.write(line("old 2"));
    const abort = new AbortController();
    const it = hub.watch({ filter: { minLevel: "info" }, viewer: ALL, follow: true, tail: 1, signal: abort.signal })[Symbol.asyncIterator]();
    expect(messages([(await it.next()).value as LogBatch])).toEqual(["old 2"]);
    const next = it.next();
    hub.write(line("debug, filtered out", { level: "debug" }));
    hub.write(line("new"));
    expect(messages([(await next).value as LogBatch])).toEqual(["new"]);
    const ended = it.next();
    abort.abort();
    expect((await ended).done).toBe(true);
    expect(hub.readerCount).toBe(0);
  });

  it("drops a slow reader's oldest records, tells it how many, and never holds up writing", async () => {
    const hub = new LogHub({ ...OPTIONS, readerQueue: 10 });
    const abort = new AbortController();
    const it = hub.watch({ filter: {}, viewer: ALL, follow: true, tail: 0, signal: abort.signal })[Symbol.asyncIterator]();
    const first = it.next();
    hub.write(line("r0"));
    expect(messages([(await first).value as LogBatch])).toEqual(["r0"]);
    // The reader reads nothing while 25 more come: it keeps the newest 10.
    for (let i = 1; i <= 25; i++) hub.write(line(`r${i}`));
    expect(hub.written).toBe(26);
    const batch = (await it.next()).value as LogBatch;
    expect(batch.dropped).toBe(15);
    expect(batch.records.map((r) => r.message)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i + 16}`));
    const later = it.next();
    hub.write(line("r26"));
    expect(((await later).value as LogBatch).dropped).toBe(0);
    expect(hub.dropped).toBe(15);
    abort.abort();
  });

  it("close() ends following readers after what they have queued", async () => {
    const hub = new LogHub(OPTIONS);
    const batches = collect(hub.watch({ filter: {}, viewer: ALL, follow: true, signal: new AbortController().signal }));
    await Promise.resolve();
    hub.write(line("last"));
    hub.close();
    expect(messages(await batches)).toEqual(["last"]);
  });
});
