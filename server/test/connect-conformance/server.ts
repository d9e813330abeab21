// connectrpc/conformance's server under test: connectrpc.conformance.v1.ConformanceService
// served through pyfleet's listener and unary front (the code that serves
// pyfleet's own unary RPCs, over HTTP/2 on core streams). The runner writes a
// ServerCompatRequest to stdin and reads a ServerCompatResponse from stdout,
// each with a 4-byte big-endian length prefix. The service's descriptors come from the runner's own .proto
// files (built by scripts/connect-conformance.mjs): nothing is generated here.
//
// Usage: node --import tsx server.ts <descriptor-set.binpb>
import { appendFileSync, readFileSync } from "node:fs";
import { create, createFileRegistry, type DescMessage, fromBinary, fromJsonString, type Message, toBinary, toJsonString } from "@bufbuild/protobuf";
import { anyPack, type Any, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createServiceImplSpec, type HandlerContext } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import type { ExpressCall, ExpressMethod } from "../../src/http/express.js";
import { listen } from "../../src/http/listener.js";
import { createUnaryFront } from "../../src/http/unary-front.js";
import { rpcRequestHandler } from "../../src/rpc/adapter.js";

const PKG = "connectrpc.conformance.v1";
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(process.argv[2]!)));
const message = (name: string): DescMessage => {
  const desc = registry.getMessage(`${PKG}.${name}`);
  if (!desc) throw new Error(`${PKG}.${name} is not in the descriptor set`);
  return desc;
};
const service = registry.getService(`${PKG}.ConformanceService`)!;
const RequestInfo = message("ConformancePayload.RequestInfo");
const Payload = message("ConformancePayload");

interface Header { name: string; value: string[] }
interface ResponseDefinition {
  responseHeaders: Header[];
  responseTrailers: Header[];
  responseDelayMs: number;
  response: { case: "responseData"; value: Uint8Array } | { case: "error"; value: { code: number; message?: string; details: Any[] } } | { case: undefined };
}
type UnaryLike = Message & { responseDefinition?: ResponseDefinition };

function addHeaders(target: Headers, headers: Header[] | undefined) {
  for (const h of headers ?? []) for (const v of h.value) target.append(h.name, v);
}

function requestInfo(req: Message, ctx: HandlerContext) {
  const headers: Header[] = [];
  ctx.requestHeader.forEach((value, name) => headers.push({ name, value: [value] }));
  const timeout = ctx.timeoutMs();
  return create(RequestInfo, {
    requestHeaders: headers,
    ...(timeout !== undefined ? { timeoutMs: BigInt(Math.max(0, Math.round(timeout))) } : {}),
    requests: [anyPack(registry.getMessage(req.$typeName)!, req)],
  });
}

/** Unary and IdempotentUnary, as the reference server answers them. */
async function unary(req: UnaryLike, ctx: HandlerContext, response: DescMessage) {
  const info = requestInfo(req, ctx);
  const def = req.responseDefinition;
  if (def === undefined) return create(response, { payload: create(Payload, { requestInfo: info }) });
  addHeaders(ctx.responseHeader, def.responseHeaders);
  addHeaders(ctx.responseTrailer, def.responseTrailers);
  if (def.response.case === "error") {
    const e = def.response.value;
    const error = new ConnectError(e.message ?? "", e.code as Code);
    for (const detail of e.details) error.details.push({ type: detail.typeUrl.slice(detail.typeUrl.lastIndexOf("/") + 1), value: detail.value });
    error.details.push({ desc: RequestInfo, value: info });
    throw error;
  }
  if (def.responseDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, def.responseDelayMs));
  return create(response, { payload: create(Payload, { requestInfo: info, ...(def.response.case === "responseData" ? { data: def.response.value } : {}) }) });
}

/**
 * The same methods on the front's express lane (as pyfleet's Execute is
 * served), so that the suite checks that lane's answers too: it takes every
 * call except those that ask for custom response headers or trailers (the
 * lane's answers carry only a message and plain headers), which it declines
 * to the general path above.
 */
function expressLane(request: DescMessage, response: DescMessage): ExpressMethod {
  const utf8 = new TextDecoder();
  return {
    serve(call: ExpressCall) {
      let req: UnaryLike;
      try {
        req = (call.binary ? fromBinary(request, call.message) : fromJsonString(request, utf8.decode(call.message), { registry })) as UnaryLike;
      } catch {
        return undefined;
      }
      const def = req.responseDefinition;
      if (def !== undefined && (def.responseHeaders.length > 0 || def.responseTrailers.length > 0)) return undefined;
      const headers: Header[] = [];
      for (const [name, value] of Object.entries(call.headers)) {
        if (name.startsWith(":") || value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) headers.push({ name, value: [v] });
      }
      const info = create(RequestInfo, {
        requestHeaders: headers,
        ...(call.timeoutMs !== undefined ? { timeoutMs: BigInt(Math.max(0, Math.round(call.timeoutMs))) } : {}),
        requests: [anyPack(request, req)],
      });
      return (async () => {
        if (def?.response.case === "error") {
          const e = def.response.value;
          const error = new ConnectError(e.message ?? "", e.code as Code);
          for (const detail of e.details) error.details.push({ type: detail.typeUrl.slice(detail.typeUrl.lastIndexOf("/") + 1), value: detail.value });
          error.details.push({ desc: RequestInfo, value: info });
          throw error;
        }
        if (def !== undefined && def.responseDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, def.responseDelayMs));
        const out = create(response, { payload: create(Payload, { requestInfo: info, ...(def?.response.case === "responseData" ? { data: def.response.value } : {}) }) });
        return { message: call.binary ? toBinary(response, out) : new TextEncoder().encode(toJsonString(response, out, { registry })), headers: {} };
      })();
    },
  };
}

const impl = {
  unary: (req: UnaryLike, ctx: HandlerContext) => unary(req, ctx, message("UnaryResponse")),
  idempotentUnary: (req: UnaryLike, ctx: HandlerContext) => unary(req, ctx, message("IdempotentUnaryResponse")),
};

async function readDelimited(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    const all = Buffer.concat(chunks);
    if (all.length >= 4 && all.length >= 4 + all.readUInt32BE(0)) return all.subarray(4, 4 + all.readUInt32BE(0));
  }
  throw new Error("stdin closed before a ServerCompatRequest arrived");
}

const compat = fromBinary(message("ServerCompatRequest"), await readDelimited()) as Message & { messageReceiveLimit: number; useTls: boolean };
if (compat.useTls) throw new Error("this test server serves cleartext only (supports_tls: false)");
const readMaxBytes = compat.messageReceiveLimit || 0xffffffff;
const front = createUnaryFront({
  services: [createServiceImplSpec(service, impl as never)],
  interceptors: [],
  acceptCompression: [compressionGzip, compressionBrotli],
  readMaxBytes,
  writeMaxBytes: 0xffffffff,
  // JSON of the google.protobuf.Any in a payload needs the types it may hold.
  jsonOptions: { registry },
  express: new Map([
    [`/${service.typeName}/Unary`, expressLane(message("UnaryRequest"), message("UnaryResponse"))],
    [`/${service.typeName}/IdempotentUnary`, expressLane(message("IdempotentUnaryRequest"), message("IdempotentUnaryResponse"))],
  ]),
});
// What the front declines goes to connect-node, exactly as in pyfleet's server;
// each such request is logged (PYFLEET_DECLINED_LOG) so the test can check that
// only requests the front is meant to decline (other verbs, content types it
// does not serve) went there.
const connect = rpcRequestHandler({
  routes: (router) => router.service(service, impl as never),
  readMaxBytes,
  writeMaxBytes: 0xffffffff,
  jsonOptions: { registry },
  fallback: (_req, res) => res.writeHead(404, { "content-type": "text/plain" }).end("not found\n"),
});
const declinedLog = process.env.PYFLEET_DECLINED_LOG;
const listener = await listen({
  host: "127.0.0.1",
  port: 0,
  idleTimeoutMs: 60_000,
  handler(req, res) {
    if (front(req, res)) return;
    if (declinedLog) appendFileSync(declinedLog, `${JSON.stringify({ method: req.method, url: req.url, contentType: req.headers["content-type"] ?? "", http: req.httpVersion })}\n`);
    connect(req, res);
  },
  // Over HTTP/2 the front's calls come on core streams, as in pyfleet's server.
  streams: { claims: front.claims, handler: (req, res) => void front(req, res) },
});
const out = toBinary(message("ServerCompatResponse"), create(message("ServerCompatResponse"), { host: "127.0.0.1", port: listener.port }));
const prefix = Buffer.alloc(4);
prefix.writeUInt32BE(out.length);
process.stdout.write(Buffer.concat([prefix, out]));
process.on("SIGTERM", () => void listener.close(500).then(() => process.exit(0)));
