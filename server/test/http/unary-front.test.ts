import http from "node:http";
import http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { create, toBinary, toJson } from "@bufbuild/protobuf";
import { type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createServiceImplSpec, type HandlerContext, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ToolErrorSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/error_pb";
import { ExecuteRequestSchema, ExecuteResponseSchema, PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen, type Listener } from "../../src/http/listener.js";
import { createUnaryFront } from "../../src/http/unary-front.js";
import { rpcRequestHandler } from "../../src/rpc/adapter.js";
import { toValue } from "../../src/rpc/pool-convert.js";

/*
 * The unary front on its own: a stub PoolService behind the front, with
 * connect-node behind it for what the front declines, driven by connect-es's
 * clients over every protocol and by hand-made bodies for malformed input.
 */

const READ_MAX = 16 * 1024;
const json = (value: Value | undefined) => value && toJson(ValueSchema, value);
const seen = { front: 0, streams: 0, fallback: 0, signals: [] as unknown[], requestIds: [] as string[], auth: [] as (string | null)[] };
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
/** Resolves when the next "wait" call reaches the handler. */
let waitStarted = deferred();
/** Resolves when a "wait" call's signal aborted. */
let waitEnded = deferred();

const impl: Partial<ServiceImpl<typeof PoolService>> = {
  async execute(req, ctx: HandlerContext) {
    const args = req.args ?? {};
    if (req.tool === "fail") {
      const err = new ConnectError("the tool raised ValueError: bad", Code.FailedPrecondition);
      err.details.push({ desc: ToolErrorSchema, value: create(ToolErrorSchema, { type: "ValueError", message: "bad", traceback: "Traceback...", tool: "fail", workerId: "w1" }) });
      throw err;
    }
    if (req.tool === "crash") throw new Error("a bug");
    if (req.tool === "wait") {
      waitStarted.resolve();
      // On a busy machine the client may be gone before the handler starts.
      if (!ctx.signal.aborted) await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
      seen.signals.push(ctx.signal.reason);
      waitEnded.resolve();
      throw ctx.signal.reason;
    }
    if (req.tool === "big") return create(ExecuteResponseSchema, { result: toValue({ text: "y".repeat(Number(args.size ?? 4096)) }) });
    return create(ExecuteResponseSchema, { result: toValue(args) });
  },
  async *executeStream(req) {
    yield { event: { case: "chunk", value: toValue(req.tool) } };
  },
};

const observe: Interceptor = (next) => async (req) => {
  seen.auth.push(req.header.get("authorization"));
  const res = await next(req);
  const id = req.header.get("x-request-id") ?? "generated";
  seen.requestIds.push(id);
  res.header.set("x-request-id", id);
  return res;
};

let listener: Listener;
beforeAll(async () => {
  const options = {
    readMaxBytes: READ_MAX,
    writeMaxBytes: READ_MAX * 4,
    jsonOptions: { ignoreUnknownFields: false },
    interceptors: [observe],
  };
  const front = createUnaryFront({ ...options, services: [createServiceImplSpec(PoolService, impl)], acceptCompression: [compressionGzip, compressionBrotli] });
  const connect = rpcRequestHandler({ ...options, routes: (router) => router.service(PoolService, impl), fallback: (_req, res) => res.writeHead(404).end() });
  listener = await listen({
    host: "127.0.0.1",
    port: 0,
    idleTimeoutMs: 30_000,
    handler: (req, res) => {
      if (front(req, res)) seen.front++;
      else {
        seen.fallback++;
        connect(req, res);
      }
    },
    // Over HTTP/2 the front's calls come as core streams, the rest through the compatibility API as above.
    streams: {
      claims: front.claims,
      handler: (req, res) => {
        seen.streams++;
        if (front(req, res)) seen.front++;
      },
    },
  });
});
afterAll(() => listener.close(1_000));

/** Each client, with the header that carries its deadline. */
const transports = {
  "connect proto h2": () => createConnectTransport({ baseUrl: listener.url, httpVersion: "2" }),
  "connect json h1": () => createConnectTransport({ baseUrl: listener.url, httpVersion: "1.1", useBinaryFormat: false }),
  "connect json h2 gzip": () => createConnectTransport({ baseUrl: listener.url, httpVersion: "2", useBinaryFormat: false, sendCompression: compressionGzip, acceptCompression: [compressionGzip], compressMinBytes: 1 }),
  "grpc h2": () => createGrpcTransport({ baseUrl: listener.url }),
  "grpc h2 gzip": () => createGrpcTransport({ baseUrl: listener.url, sendCompression: compressionGzip, acceptCompression: [compressionGzip], compressMinBytes: 1 }),
  "grpc-web h1": () => createGrpcWebTransport({ baseUrl: listener.url, httpVersion: "1.1" }),
  "grpc-web h2 json": () => createGrpcWebTransport({ baseUrl: listener.url, httpVersion: "2", useBinaryFormat: false }),
};

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const e = await promise.then(() => undefined, (reason: unknown) => reason);
  expect(e).toBeInstanceOf(ConnectError);
  return e as ConnectError;
}

describe.each(Object.entries(transports))("the unary front over %s", (name, transport) => {
  it("serves calls, errors with details, deadlines, cancellation, size limits, and leaves streams to connect-node", async () => {
    const client = createClient(PoolService, transport());
    const front = seen.front;
    const streams = seen.streams;
    const fallback = seen.fallback;

    const ok = await client.execute({ tool: "echo", args: { text: "hi", n: 2 } }, { headers: { "x-request-id": "req-1", authorization: "Bearer k" } });
    expect(json(ok.result)).toEqual({ text: "hi", n: 2 });
    expect(seen.requestIds.at(-1)).toBe("req-1");
    expect(seen.auth.at(-1)).toBe("Bearer k");

    const big = await client.execute({ tool: "big", args: { size: 5000 } });
    expect(json(big.result)).toEqual({ text: "y".repeat(5000) });

    const failed = await failure(client.execute({ tool: "fail" }));
    expect(failed.code).toBe(Code.FailedPrecondition);
    expect(failed.rawMessage).toBe("the tool raised ValueError: bad");
    expect(failed.findDetails(ToolErrorSchema)).toEqual([expect.objectContaining({ type: "ValueError", message: "bad", tool: "fail", workerId: "w1" })]);

    const crashed = await failure(client.execute({ tool: "crash" }));
    expect(crashed.code).toBe(Code.Internal);
    expect(crashed.rawMessage).toBe("internal error");

    const signals = seen.signals.length;
    // The deadline header only, so that the server's timer (not the client's) ends the call.
    const deadline = name.startsWith("connect") ? { "connect-timeout-ms": "150" } : { "grpc-timeout": "150m" };
    const late = await failure(client.execute({ tool: "wait" }, { headers: deadline }));
    expect(late.code).toBe(Code.DeadlineExceeded);
    expect(seen.signals.length).toBe(signals + 1);
    expect((seen.signals.at(-1) as ConnectError).code).toBe(Code.DeadlineExceeded);

    const abort = new AbortController();
    waitStarted = deferred();
    waitEnded = deferred();
    const cancelled = client.execute({ tool: "wait" }, { signal: abort.signal });
    // Cancel once the call is in the handler, so that it is the server that sees the client go.
    await waitStarted.promise;
    abort.abort();
    expect((await failure(cancelled)).code).toBe(Code.Canceled);
    await waitEnded.promise;
    expect(seen.signals.length).toBe(signals + 2);
    expect((seen.signals.at(-1) as ConnectError).code).toBe(Code.Canceled);

    const tooBig = await failure(client.execute({ tool: "echo", args: { blob: "x".repeat(READ_MAX * 2) } }));
    expect(tooBig.code).toBe(Code.ResourceExhausted);
    expect(json((await client.execute({ tool: "echo" })).result)).toEqual({});

    const chunks = [];
    for await (const m of client.executeStream({ tool: "streamed" })) if (m.event.case === "chunk") chunks.push(json(m.event.value));
    expect(chunks).toEqual(["streamed"]);

    expect(seen.front - front).toBe(8);
    // Over HTTP/2 each of them came on a core stream.
    expect(seen.streams - streams).toBe(name.includes("h2") ? 8 : 0);
    expect(seen.fallback - fallback).toBe(1);
  });
});

async function post(path: string, contentType: string, body: Uint8Array | string, headers: Record<string, string> = {}) {
  const res = await fetch(`${listener.url}${path}`, { method: "POST", headers: { "content-type": contentType, ...headers }, body });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** One raw HTTP/2 request; resolves with the response headers, body and trailers. */
function h2(path: string, headers: Record<string, string>, body: Uint8Array): Promise<{ headers: http2.IncomingHttpHeaders; body: Buffer; trailers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(listener.url);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": path, te: "trailers", ...headers });
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (head = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      session.close();
      resolve({ headers: head, body: Buffer.concat(chunks), trailers });
    });
    stream.on("error", reject);
    stream.end(body);
  });
}

function envelope(flags: number, data: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + data.length);
  out[0] = flags;
  out.writeUInt32BE(data.length, 1);
  out.set(data, 5);
  return out;
}

const EXECUTE = "/pyfleet.pool.v1.PoolService/Execute";

describe("malformed input gets INVALID_ARGUMENT, never INTERNAL", () => {
  it("over Connect", async () => {
    const bad = await post(EXECUTE, "application/proto", "\xff\xff\xff");
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toEqual({ code: "invalid_argument", message: expect.stringContaining("not a valid pyfleet.pool.v1.ExecuteRequest in protobuf binary") });
    const json = await post(EXECUTE, "application/json", "{not json");
    expect(json.status).toBe(400);
    expect(JSON.parse(json.text).code).toBe("invalid_argument");
    const typo = await post(EXECUTE, "application/json; charset=utf-8", JSON.stringify({ tooll: "x" }));
    expect(JSON.parse(typo.text)).toEqual({ code: "invalid_argument", message: expect.stringContaining("tooll") });
    const zipped = await post(EXECUTE, "application/json", gzipSync(JSON.stringify({ tool: "echo" })), { "content-encoding": "gzip" });
    expect(zipped.status).toBe(200);
    const notZipped = await post(EXECUTE, "application/json", "plain", { "content-encoding": "gzip" });
    expect(JSON.parse(notZipped.text).code).toBe("invalid_argument");
    const badTimeout = await post(EXECUTE, "application/json", "{}", { "connect-timeout-ms": "soon" });
    expect(JSON.parse(badTimeout.text).code).toBe("invalid_argument");
    const unknownEncoding = await post(EXECUTE, "application/json", "{}", { "content-encoding": "zstd" });
    expect(JSON.parse(unknownEncoding.text).code).toBe("unimplemented");
  });

  it("over gRPC", async () => {
    const grpc = { "content-type": "application/grpc" };
    const good = toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { tool: "echo" }));
    expect((await h2(EXECUTE, grpc, envelope(0, good))).trailers["grpc-status"]).toBe("0");
    const cases: [string, Record<string, string>, Uint8Array, string][] = [
      ["not protobuf", grpc, envelope(0, Buffer.from([0xff, 0xff, 0xff])), "3"],
      ["cut-off envelope", grpc, envelope(0, good).subarray(0, 6), "3"],
      ["compressed flag, no encoding", grpc, envelope(1, good), "3"],
      ["reserved flag bits", grpc, envelope(0x68, good), "3"],
      ["not gzip", { ...grpc, "grpc-encoding": "gzip" }, envelope(1, good), "3"],
      ["bad grpc-timeout", { ...grpc, "grpc-timeout": "1x" }, envelope(0, good), "3"],
      ["message over the limit", grpc, envelope(0, Buffer.alloc(READ_MAX + 1)), "8"],
      ["no message", grpc, new Uint8Array(0), "12"],
      ["two messages", grpc, Buffer.concat([envelope(0, good), envelope(0, good)]), "12"],
    ];
    for (const [name, headers, body, status] of cases) {
      const res = await h2(EXECUTE, headers, body);
      expect(res.headers[":status"], name).toBe(200);
      expect({ name, status: res.trailers["grpc-status"] ?? res.headers["grpc-status"] }).toEqual({ name, status });
    }
    const zipped = await h2(EXECUTE, { ...grpc, "grpc-encoding": "gzip" }, envelope(1, gzipSync(good)));
    expect(zipped.trailers["grpc-status"]).toBe("0");
    // grpc-message is percent-encoded only where the spec requires it.
    const failed = await h2(EXECUTE, grpc, envelope(0, toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { tool: "fail" }))));
    expect(failed.trailers["grpc-message"]).toBe("the tool raised ValueError: bad");
    expect(failed.trailers["grpc-status-details-bin"]).toEqual(expect.any(String));
  });

  it("answers the next request on an HTTP/1.1 connection after refusing an oversized body unread", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: string) => new Promise<{ status: number; socket: unknown; text: string }>((resolve, reject) => {
      const req = http.request(`${listener.url}${EXECUTE}`, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, socket: req.socket, text }));
      });
      req.on("error", reject);
      // Chunked (no content-length), so the front starts reading before it refuses.
      req.write(body);
      req.end();
    });
    const big = await send(JSON.stringify({ tool: "echo", args: { blob: "x".repeat(READ_MAX * 8) } }));
    expect(big.status).toBe(429);
    const next = await send(JSON.stringify({ tool: "echo", args: { ok: 1 } }));
    expect({ status: next.status, sameSocket: next.socket === big.socket }).toEqual({ status: 200, sameSocket: true });
    agent.destroy();
  });

  it("over gRPC-Web", async () => {
    const res = await post(EXECUTE, "application/grpc-web+proto", envelope(0, Buffer.from([0xff, 0xff, 0xff])));
    expect(res.status).toBe(200);
    expect(res.text).toContain("grpc-status: 3");
  });
});

describe("HPACK over HTTP/2", () => {
  // A value that differs on every response, indexed, would take a slot in the
  // connection's HPACK table each time and evict what repeats (content-type):
  // nghttp2's deflate was 7% of the server's CPU under load until it was sent never-indexed.
  it("sends the request id never-indexed, and what repeats indexed as before", async () => {
    const body = toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { tool: "echo" }));
    for (const contentType of ["application/proto", "application/grpc"]) {
      const res = await h2(EXECUTE, { "content-type": contentType, "x-request-id": "req-hpack" }, contentType.endsWith("grpc") ? envelope(0, body) : body);
      expect(res.headers[":status"]).toBe(200);
      expect(res.headers["x-request-id"]).toBe("req-hpack");
      expect((res.headers as { [http2.sensitiveHeaders]?: unknown })[http2.sensitiveHeaders]).toEqual(["x-request-id"]);
    }
  });
});
