import { type ClientHttp2Session, connect, constants } from "node:http2";
import { create, type DescMessage, fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import { ExecuteManyRequestSchema, ExecuteRequestSchema, ExecuteStreamRequestSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { byScale, type ChaosOptions, type ChaosResult, poolClient, startServer } from "../lib.js";

type Protocol = "connect" | "grpc" | "grpc-web";

/** One raw HTTP/2 request. */
interface RawRequest {
  kind: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** Seeded, so a failing run can be replayed. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}
type Rng = ReturnType<typeof rng>;

const SERVICE = "/pyfleet.pool.v1.PoolService";
const VALID = create(ExecuteRequestSchema, { tool: "echo", args: { a: 1, nested: { b: [1, 2, "x"] } } });
const VALID_BINARY = Buffer.from(toBinary(ExecuteRequestSchema, VALID));
const VALID_JSON = toJsonString(ExecuteRequestSchema, VALID);
const MAX_MESSAGE = 4 * 1024 * 1024;

function envelope(data: Buffer, flags = 0, declared = data.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(declared >>> 0, 1);
  return Buffer.concat([head, data]);
}

function contentType(protocol: Protocol, json: boolean, streaming: boolean): string {
  if (protocol === "grpc") return json ? "application/grpc+json" : "application/grpc";
  if (protocol === "grpc-web") return json ? "application/grpc-web+json" : "application/grpc-web+proto";
  if (streaming) return json ? "application/connect+json" : "application/connect+proto";
  return json ? "application/json" : "application/proto";
}

function deepJson(depth: number): string {
  return `{"tool":"echo","args":{"x":${"[".repeat(depth)}${"]".repeat(depth)}}}`;
}

/** Every kind of bad request, built for one protocol. */
export function malformed(r: Rng, protocol: Protocol): RawRequest {
  const enveloped = protocol !== "connect" || r.next() < 0.4;
  const method = protocol === "connect" && !enveloped ? "Execute" : r.pick(["Execute", "ExecuteStream", "ExecuteMany"]);
  const path = `${SERVICE}/${protocol === "connect" && method === "ExecuteMany" ? "ExecuteStream" : method}`;
  const streaming = enveloped;
  const headers = (json: boolean): Record<string, string> => {
    const h: Record<string, string> = { "content-type": contentType(protocol, json, streaming) };
    if (protocol === "grpc") h.te = "trailers";
    if (protocol === "connect") h["connect-protocol-version"] = "1";
    return h;
  };
  const wrap = (data: Buffer) => (enveloped ? envelope(data) : data);
  const mutate = (data: Buffer) => {
    const out = Buffer.from(data);
    for (let i = 0, n = 1 + r.int(4); i < n; i++) out[r.int(out.length)] = r.int(256);
    return out;
  };
  const kinds: Array<[string, () => RawRequest]> = [
    ["random bytes", () => ({ kind: "", path, headers: headers(false), body: r.bytes(r.int(2_000)) })],
    ["flipped bytes in a valid message", () => ({ kind: "", path, headers: headers(false), body: wrap(mutate(VALID_BINARY)) })],
    ["truncated envelope", () => ({ kind: "", path, headers: headers(false), body: envelope(VALID_BINARY).subarray(0, 1 + r.int(VALID_BINARY.length + 3)) })],
    ["lying length prefix", () => ({ kind: "", path, headers: headers(false), body: envelope(VALID_BINARY, 0, r.pick([0x7fffffff, 0xffffffff, VALID_BINARY.length + 1 + r.int(1000)])) })],
    ["envelope flags without an encoding", () => ({ kind: "", path, headers: headers(false), body: envelope(VALID_BINARY, 1 + r.int(255)) })],
    ["trailing garbage", () => ({ kind: "", path, headers: headers(false), body: Buffer.concat([wrap(VALID_BINARY), r.bytes(1 + r.int(7))]) })],
    ["wrong content type", () => ({
      kind: "", path, headers: { ...headers(false), "content-type": r.pick(["text/plain", "application/xml", "application/grpc+thrift", "application/proto; charset=ebcdic", "", "multipart/form-data"]) },
      body: wrap(VALID_BINARY),
    })],
    ["declared oversized message", () => ({ kind: "", path, headers: headers(false), body: envelope(Buffer.alloc(16), 0, MAX_MESSAGE + 1 + r.int(1 << 20)) })],
    ["deeply nested JSON", () => ({ kind: "", path, headers: headers(true), body: wrap(Buffer.from(deepJson(1_000 + r.int(50_000)))) })],
    ["invalid JSON", () => ({ kind: "", path, headers: headers(true), body: wrap(Buffer.from(VALID_JSON.slice(0, r.int(VALID_JSON.length)) + r.pick(["", "}", "\u0000", "\"", "]]]", "NaN"]))) })],
    ["unknown JSON field", () => ({ kind: "", path, headers: headers(true), body: wrap(Buffer.from(VALID_JSON.replace("{", `{"no_such_field_${r.int(100)}":1,`))) })],
    ["wrong JSON types and enums", () => ({
      kind: "", path, headers: headers(true),
      body: wrap(Buffer.from(r.pick(['{"tool":42}', '{"tool":"echo","timeoutMs":"soon"}', '{"tool":"echo","args":"x"}', '{"tool":"echo","idempotent":"maybe"}', "[]", "null", '"str"']))),
    })],
  ];
  // A real oversized body now and then: costly, so rare.
  if (r.next() < 0.002) return { kind: "oversized message", path, headers: headers(false), body: wrap(Buffer.alloc(MAX_MESSAGE + 1024, 7)) };
  const [kind, build] = r.pick(kinds);
  return { ...build(), kind };
}

/** The status code of a response in any protocol: a gRPC code number, or "http NNN". */
function statusOf(protocol: Protocol, status: number, headers: Record<string, unknown>, trailers: Record<string, unknown>, body: Buffer): string {
  const grpc = trailers["grpc-status"] ?? headers["grpc-status"];
  if (grpc !== undefined) return String(grpc);
  if (protocol === "grpc-web") {
    // Trailers in a body frame with the 0x80 flag.
    const text = body.toString("latin1");
    const match = /grpc-status:\s*(\d+)/i.exec(text);
    if (match) return match[1]!;
  }
  const contentType = String(headers["content-type"] ?? "");
  // A Connect unary success is a 200 with the response message as the body.
  if (contentType.startsWith("application/json") && status === 200) return "http 200";
  if (contentType.startsWith("application/json") || (contentType.startsWith("application/connect+") && status !== 200)) {
    try {
      return `connect ${(JSON.parse(body.toString()) as { code?: string }).code ?? "?"}`;
    } catch {
      return `http ${status}`;
    }
  }
  if (contentType.startsWith("application/connect+")) {
    // The end-of-stream message (flag 0x02) says how it ended.
    let offset = 0;
    while (offset + 5 <= body.length) {
      const flags = body[offset]!;
      const len = body.readUInt32BE(offset + 1);
      if (flags & 2) {
        try {
          const end = JSON.parse(body.subarray(offset + 5, offset + 5 + len).toString()) as { error?: { code?: string } };
          return end.error ? `connect ${end.error.code}` : "connect ok";
        } catch {
          return "connect bad end";
        }
      }
      offset += 5 + len;
    }
  }
  return `http ${status}`;
}

const INTERNAL = new Set(["13", "connect internal", "http 500", "http 502", "http 503"]);
/** A call that went through: the status of a served request. */
const OK = new Set(["0", "connect ok", "http 200"]);

/** The content types each protocol accepts: whether the body is JSON. */
const CONTENT_TYPES: Record<Protocol | "connect unary", Record<string, boolean>> = {
  grpc: { "application/grpc": false, "application/grpc+proto": false, "application/grpc+json": true },
  "grpc-web": { "application/grpc-web": false, "application/grpc-web+proto": false, "application/grpc-web+json": true },
  connect: { "application/connect+proto": false, "application/connect+json": true },
  "connect unary": { "application/proto": false, "application/json": true },
};

const INPUT: Record<string, DescMessage> = { Execute: ExecuteRequestSchema, ExecuteStream: ExecuteStreamRequestSchema, ExecuteMany: ExecuteManyRequestSchema };

function decodes(schema: DescMessage, data: Buffer, json: boolean): boolean {
  try {
    if (json) fromJsonString(schema, data.toString("utf8"), { ignoreUnknownFields: false });
    else fromBinary(schema, data);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a "malformed" request is in fact a valid message for its method
 * and protocol (a flipped byte can land in a string, random bytes can be
 * well-formed protobuf, a truncation can cut nothing): the right content
 * type (parameters aside), whole uncompressed envelopes where the protocol
 * frames, as many messages as the method takes, each decoding strictly.
 */
export function isValidMessage(protocol: Protocol, req: RawRequest): boolean {
  const method = req.path.slice(SERVICE.length + 1);
  const schema = INPUT[method];
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
  if (!schema) return false;
  const enveloped = protocol !== "connect" || method !== "Execute";
  const json = CONTENT_TYPES[enveloped ? protocol : "connect unary"][type];
  if (json === undefined) return false;
  if (!enveloped) return decodes(schema, req.body, json);
  const messages: Buffer[] = [];
  for (let offset = 0; offset < req.body.length;) {
    if (offset + 5 > req.body.length || req.body[offset] !== 0) return false;
    const end = offset + 5 + req.body.readUInt32BE(offset + 1);
    if (end > req.body.length) return false;
    messages.push(req.body.subarray(offset + 5, end));
    offset = end;
  }
  if (method !== "ExecuteMany" && messages.length !== 1) return false;
  return messages.every((m) => decodes(schema, m, json));
}

/**
 * Thousands of malformed requests per protocol, sent raw over HTTP/2 so
 * nothing in a client library can tidy them up: the server stays up,
 * answers each with a client-fault code (never INTERNAL), and its memory
 * stays bounded.
 */
export async function malformedRequests(o: ChaosOptions): Promise<ChaosResult> {
  const perProtocol = byScale(o.scale, { test: 300, quick: 2_000, full: 10_000 });
  // In this process, so the heap it keeps can be measured after a full
  // collection (`npm run chaos` exposes gc); a crash ends the run, loudly.
  const running = await startServer();
  const url = `http://127.0.0.1:${running.server.port}`;
  const r = rng(20261124);
  const byCode = new Map<string, number>();
  const internalSamples: string[] = [];
  // Every input is either refused (an error status for an input that is not a valid message), a valid
  // message (whatever it was answered: the generator made a good one by chance), or an OK for an
  // invalid input: accepted garbage, which fails the goal.
  const counts = { requests: 0, answered: 0, refused: 0, valid_messages: 0, ok_for_invalid: 0, internal: 0, hung: 0, session_resets: 0 };
  const validByCode = new Map<string, number>();
  const acceptedByKind = new Map<string, number>();
  const acceptedSamples: string[] = [];
  // Warm up so the baseline includes the server's steady state.
  for (let i = 0; i < 50; i++) await poolClient(url).execute({ tool: "echo" });
  const gc = (globalThis as { gc?: () => void }).gc;
  const retainedMb = () => {
    gc?.();
    return Math.round(process.memoryUsage().heapUsed / (1024 * 1024) * 10) / 10;
  };
  const heapMb: number[] = [retainedMb()];
  const total = 3 * perProtocol;
  const checkpoints = new Set([1, 2, 3].map((q) => Math.floor((q * total) / 4)));

  let session: ClientHttp2Session | undefined;
  const sessionEvents = new Set<string>();
  // After a GOAWAY the connection takes no new streams: the next request opens another.
  let sessionGone = false;
  const sessionFor = () => {
    if (!session || session.closed || session.destroyed || sessionGone) {
      sessionGone = false;
      if (session) counts.session_resets++;
      // Room for the 4 MiB bodies in flight: Node's default 10 MB per session
      // makes the client itself refuse streams (ENHANCE_YOUR_CALM).
      session = connect(url, { maxSessionMemory: 256 });
      session.on("error", (e: Error) => sessionEvents.add(`error: ${e.message}`));
      session.on("goaway", (code: number) => {
        sessionGone = true;
        sessionEvents.add(`goaway ${code} after ${counts.requests} requests`);
      });
    }
    return session;
  };
  const send = (protocol: Protocol, req: RawRequest) => new Promise<{ code: string; message: string }>((resolve) => {
    const stream = sessionFor().request({ ":method": "POST", ":path": req.path, ...req.headers }, { endStream: false });
    const chunks: Buffer[] = [];
    let headers: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    let status = 0;
    const timer = setTimeout(() => {
      stream.close(constants.NGHTTP2_CANCEL);
      resolve({ code: "hung", message: "" });
    }, 10_000);
    stream.on("response", (h) => {
      headers = h;
      status = Number(h[":status"]);
    });
    stream.on("trailers", (t) => {
      trailers = t;
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    // The answer is complete: stop sending what the server will not read, as
    // real clients do. (Only then: resetting every stream would trip the
    // server's rapid-reset protection, a GOAWAY by design.)
    stream.on("end", () => {
      if (!stream.closed && !stream.writableFinished) stream.close(constants.NGHTTP2_CANCEL);
    });
    const done = () => {
      clearTimeout(timer);
      const body = Buffer.concat(chunks);
      const message = String(trailers["grpc-message"] ?? headers["grpc-message"] ?? body.toString("latin1").replace(/[^ -~]/g, "."));
      resolve({ code: status === 0 ? `reset ${stream.rstCode}` : statusOf(protocol, status, headers, trailers, body), message: message.slice(0, 200) });
    };
    stream.on("close", done);
    stream.on("error", () => undefined);
    stream.end(req.body);
  });

  for (const protocol of ["connect", "grpc", "grpc-web"] as const) {
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < perProtocol) {
        next++;
        const req = malformed(r, protocol);
        const { code, message } = await send(protocol, req);
        counts.requests++;
        if (checkpoints.has(counts.requests)) heapMb.push(retainedMb());
        if (code === "hung") counts.hung++;
        else counts.answered++;
        if (isValidMessage(protocol, req)) {
          counts.valid_messages++;
          validByCode.set(`${protocol} ${code}`, (validByCode.get(`${protocol} ${code}`) ?? 0) + 1);
        } else if (OK.has(code)) {
          counts.ok_for_invalid++;
          const kind = `${protocol} ${req.kind} ${req.path.slice(SERVICE.length + 1)}`;
          acceptedByKind.set(kind, (acceptedByKind.get(kind) ?? 0) + 1);
          if (acceptedSamples.length < 5) acceptedSamples.push(`${protocol} ${req.kind} ${req.path.slice(SERVICE.length + 1)}: ${req.body.subarray(0, 48).toString("hex")}`);
        } else if (code !== "hung") {
          counts.refused++;
        }
        const key = process.env.CHAOS_BY_KIND ? `${protocol} ${req.kind} ${req.path.slice(SERVICE.length + 1)} ${code}` : `${protocol} ${code}`;
        byCode.set(key, (byCode.get(key) ?? 0) + 1);
        if (INTERNAL.has(code)) {
          counts.internal++;
          if (internalSamples.length < 5) internalSamples.push(`${protocol} ${req.kind} -> ${code} ${message}`);
        }
      }
    }));
  }
  (session as ClientHttp2Session | undefined)?.close();

  // Up and serving, over a fresh connection.
  const probe = await poolClient(url).execute({ tool: "add", args: { a: 2, b: 3 } }, { timeoutMs: 10_000 }).then(() => true, () => false);
  heapMb.push(retainedMb());
  await running.close();

  // The heap may settle over the first quarter (caches, connection state),
  // but not grow with the request count after that.
  const heapGrowthMb = Math.round((heapMb[heapMb.length - 1]! - heapMb[1]!) * 10) / 10;
  const heapBounded = gc === undefined || heapGrowthMb < 4;
  const notes = [
    `answers by protocol and code: ${JSON.stringify(Object.fromEntries([...byCode].sort()))}`,
    `valid messages among the inputs, by answer: ${JSON.stringify(Object.fromEntries([...validByCode].sort()))}`,
  ];
  if (acceptedSamples.length > 0) {
    notes.push(`OK for an input that is not a valid message, by kind: ${JSON.stringify(Object.fromEntries([...acceptedByKind].sort()))}; e.g. ${acceptedSamples.join("; ")}`);
  }
  if (internalSamples.length > 0) notes.push(`INTERNAL for a client's fault, e.g. ${internalSamples.join("; ")}`);
  if (sessionEvents.size > 0) notes.push(`connection events: ${[...sessionEvents].slice(0, 5).join("; ")}`);
  if (counts.hung > 0) notes.push(`${counts.hung} requests got no answer within 10 s`);
  if (gc === undefined) notes.push("heap measured without a full collection (run with --expose-gc, as npm run chaos does)");
  const met = probe && counts.internal === 0 && counts.hung === 0 && counts.ok_for_invalid === 0 && heapBounded;
  return {
    id: "protocol.malformed",
    what: `${perProtocol} malformed requests per protocol (connect, grpc, grpc-web), 16 at a time on raw HTTP/2: random and bit-flipped bytes, truncated and lying length prefixes, bad envelope flags, trailing garbage, wrong content types, oversized messages, deeply nested and invalid JSON, unknown fields, wrong types`,
    counts: { ...counts, heap_start_mb: heapMb[0]!, heap_q1_mb: heapMb[1]!, heap_end_mb: heapMb[heapMb.length - 1]! },
    figure: `${counts.refused} of ${counts.requests - counts.valid_messages} malformed requests refused with an error status, ${counts.ok_for_invalid} answered OK, ${counts.hung} unanswered, ${counts.internal} INTERNAL (${counts.valid_messages} inputs were valid messages after all, answered as such); server ${probe ? "up and serving" : "DOWN"}; heap after a full collection ${heapMb.join(" → ")} MB (start, each quarter, end): ${heapGrowthMb >= 0 ? "+" : ""}${heapGrowthMb} MB after the first quarter`,
    goal: "server up after; every input that is not a valid message refused with an error status (none OK, none unanswered), none INTERNAL; memory bounded (the heap left after a full collection grows < 4 MB from the end of the first quarter to the end)",
    met,
    notes,
  };
}
