import { type BinaryReadOptions, type DescMessage, fromBinary, type JsonReadOptions, type JsonWriteOptions } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type Interceptor,
  type MethodImplSpec,
  type ServiceImplSpec,
} from "@connectrpc/connect";
import {
  type Compression,
  compressionNegotiate,
  createMethodSerializationLookup,
  encodeEnvelope,
  envelopeCompress,
  invokeUnaryImplementation,
  mergeNonProtocolHeaders,
  type MethodSerializationLookup,
} from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes, parseTimeout as parseConnectTimeout, trailerMux } from "@connectrpc/connect/protocol-connect";
import { parseTimeout as parseGrpcTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { compressedWithoutEncodingError, malformedMessageError, reservedFlagsError } from "../rpc/decode-guard.js";
import { expressSignal, handlerContext, type ResponseMeta, responseMeta, single } from "./call-context.js";
import type { NodeResponse } from "./exchange.js";
import type { ExpressAnswer, ExpressMethod } from "./express.js";
import { encodeGrpcMessage } from "./grpc-message.js";
import { COMPRESSED_FLAG, type NodeRequest, readBody, singleEnvelope, type WireKind, wireKind } from "./unary-wire.js";

/*
 * The unary front: unary RPCs over Connect (JSON and proto, HTTP/1.1 and
 * h2c), gRPC (h2c) and gRPC-Web, served straight from Node's request and
 * response objects. connect-node serves the same calls through its universal
 * request/response layer (URL and Headers objects, async iterables per body,
 * a promise chain per chunk), which costs several times what the call itself
 * does; this keeps connect-es's own pieces for everything with semantics
 * (handler context and deadlines, interceptors, timeouts, compression
 * negotiation, error bodies and trailers, size limits) and replaces only that
 * plumbing. What it does not recognise (streams, Connect GET, gRPC-Web text,
 * gRPC over HTTP/1.1, odd content types) it declines, and connect-node
 * answers as before.
 */

export interface UnaryFrontOptions {
  /** The services whose unary methods the front serves (others' methods are ignored). */
  services: ServiceImplSpec[];
  interceptors: Interceptor[];
  acceptCompression: Compression[];
  readMaxBytes: number;
  writeMaxBytes: number;
  /** Responses smaller than this are not compressed (connect-es's default: 1 KiB). */
  compressMinBytes?: number;
  jsonOptions?: Partial<JsonReadOptions & JsonWriteOptions>;
  binaryOptions?: Partial<BinaryReadOptions>;
  shutdownSignal?: AbortSignal;
  /** Called when a response could not be written (the client went away, or a bug). */
  onHandlerFailure?(rpc: string, error: unknown): void;
  /** Methods served by their express lane when it takes the call, by path ("/package.Service/Method"). */
  express?: ReadonlyMap<string, ExpressMethod>;
}

type UnarySpec = Extract<MethodImplSpec, { kind: "unary" }>;

interface Route {
  spec: UnarySpec;
  rpc: string;
  serialization: MethodSerializationLookup<DescMessage, DescMessage>;
  express: ExpressMethod | undefined;
}

type Negotiated = ReturnType<typeof compressionNegotiate>;
type Timeout = { timeoutMs?: number | undefined; error?: ConnectError | undefined };

/** Serves a request when it is a unary call the front knows; returns false to let the caller serve it. */
export interface UnaryFront {
  (req: NodeRequest, res: NodeResponse): boolean;
  /** Whether the front serves this request (by its method, path and headers), without serving it. */
  claims(req: NodeRequest): boolean;
}

const COMPRESS_MIN_BYTES = 1024;
const EMPTY = new Uint8Array(0);
/** The trailer block of a successful gRPC-Web response. */
const OK_TRAILER = trailerSerialize(new Headers({ "grpc-status": "0" }));

export function createUnaryFront(options: UnaryFrontOptions): UnaryFront {
  const routes = new Map<string, Route>();
  for (const service of options.services) {
    for (const spec of Object.values(service.methods)) {
      if (spec.kind !== "unary") continue;
      const path = `/${service.service.typeName}/${spec.method.name}`;
      routes.set(path, {
        spec,
        express: options.express?.get(path),
        rpc: `${service.service.typeName}/${spec.method.name}`,
        serialization: createMethodSerializationLookup(spec.method, options.binaryOptions, options.jsonOptions, {
          readMaxBytes: options.readMaxBytes,
          writeMaxBytes: options.writeMaxBytes,
        }),
      });
    }
  }
  const compressMinBytes = options.compressMinBytes ?? COMPRESS_MIN_BYTES;

  const match = (req: NodeRequest): [Route, WireKind] | undefined => {
    if (req.method !== "POST") return undefined;
    const route = routes.get(req.url ?? "");
    if (route === undefined) return undefined;
    const kind = wireKind(req.headers["content-type"]);
    if (kind === undefined) return undefined;
    // gRPC needs HTTP/2 trailers; connect-node answers gRPC over HTTP/1.1 as it always has.
    if (kind.protocol === "grpc" && req.httpVersionMajor !== 2) return undefined;
    return [route, kind];
  };
  const front: UnaryFront = (req, res) => {
    const matched = match(req);
    if (matched === undefined) return false;
    const [route, kind] = matched;
    serve(route, kind, req, res).catch((e: unknown) => {
      options.onHandlerFailure?.(route.rpc, e);
      if (!res.headersSent) res.writeHead(500);
      if (!res.writableEnded) res.end();
    });
    return true;
  };
  front.claims = (req) => match(req) !== undefined;
  return front;

  async function serve(route: Route, kind: WireKind, req: NodeRequest, res: NodeResponse): Promise<void> {
    const headers = req.headers;
    const connect = kind.protocol === "connect";
    const timeout = connect
      ? parseConnectTimeout(single(headers["connect-timeout-ms"]), Number.MAX_SAFE_INTEGER)
      : parseGrpcTimeout(single(headers["grpc-timeout"]), Number.MAX_SAFE_INTEGER);
    const compression = connect
      ? compressionNegotiate(options.acceptCompression, single(headers["content-encoding"]), single(headers["accept-encoding"]), "accept-encoding")
      : compressionNegotiate(options.acceptCompression, single(headers["grpc-encoding"]), single(headers["grpc-accept-encoding"]), "grpc-accept-encoding");
    if (route.express === undefined || compression.error || timeout.error) return serveGeneral(route, kind, req, res, timeout, compression);
    const arrived = Date.now();
    let message: Uint8Array;
    try {
      message = await readMessage(kind, req, compression.request);
    } catch (e) {
      return serveGeneral(route, kind, req, res, timeout, compression, { error: e });
    }
    const timeoutMs = timeout.timeoutMs === undefined ? undefined : timeout.timeoutMs - (Date.now() - arrived);
    // A deadline that passed while the body arrived is the general path's to answer, as it always has.
    if (timeoutMs !== undefined && timeoutMs <= 0) return serveGeneral(route, kind, req, res, { timeoutMs }, compression, { message });
    if (await serveExpress(route.express, kind, message, req, res, timeoutMs, compression.response)) return;
    return serveGeneral(route, kind, req, res, timeout, compression, { message });
  }

  /** Connect-es's way: a handler context, the interceptors, the service implementation. `read` is the body when already read (or why it could not be). */
  async function serveGeneral(route: Route, kind: WireKind, req: NodeRequest, res: NodeResponse, timeout: Timeout, compression: Negotiated, read?: { message?: Uint8Array; error?: unknown }): Promise<void> {
    const { spec } = route;
    const context = handlerContext(route.spec, kind, req, res, timeout.timeoutMs, options.shutdownSignal, compression.response);
    let message: Uint8Array | undefined;
    let error: ConnectError | undefined;
    try {
      if (compression.error) throw compression.error;
      if (timeout.error) throw timeout.error;
      if (read?.error !== undefined) throw read.error;
      const input = decodeInput(route, kind, read?.message ?? await readMessage(kind, req, compression.request));
      const output = await invokeUnaryImplementation(spec, context, input, options.interceptors);
      message = route.serialization.getO(kind.binary).serialize(output);
    } catch (e) {
      error = e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
      context.abort(error);
    } finally {
      context.finish();
    }
    if (res.destroyed) return;
    if (kind.protocol === "connect") await writeConnect(context, res, message, error, compression.response);
    else await writeEnveloped(kind, context, res, message, error, compression.response);
  }

  /** The express lane (see ExpressMethod): false when it leaves the call to the general path. */
  async function serveExpress(method: ExpressMethod, kind: WireKind, message: Uint8Array, req: NodeRequest, res: NodeResponse, timeoutMs: number | undefined, compression: Compression | null): Promise<boolean> {
    const signal = expressSignal(req, res, options.shutdownSignal);
    let answer: ExpressAnswer;
    try {
      const pending = method.serve({ binary: kind.binary, message, headers: req.headers, timeoutMs, signal: signal.signal, handle: signal.handle });
      if (pending === undefined) {
        signal.finish();
        return false;
      }
      answer = await pending;
      if (answer.message.byteLength > options.writeMaxBytes) {
        throw new ConnectError(`message size ${answer.message.byteLength} is larger than configured writeMaxBytes ${options.writeMaxBytes}`, Code.ResourceExhausted);
      }
    } catch (e) {
      signal.finish();
      if (res.destroyed) return true;
      const error = e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
      const meta = responseMeta(kind, compression);
      if (kind.protocol === "connect") await writeConnect(meta, res, undefined, error, compression);
      else await writeEnveloped(kind, meta, res, undefined, error, compression);
      return true;
    }
    signal.finish();
    if (res.destroyed) return true;
    if (kind.protocol === "connect") await writeConnectAnswer(kind, res, answer, compression);
    else await writeEnvelopedAnswer(kind, res, answer, compression);
    return true;
  }

  /** The request message's bytes: the body (Connect) or its one envelope (gRPC, gRPC-Web), decompressed. */
  async function readMessage(kind: WireKind, req: NodeRequest, compression: Compression | null): Promise<Uint8Array> {
    let bytes: Uint8Array;
    let compressed: boolean;
    if (kind.protocol === "connect") {
      bytes = await readBody(req, options.readMaxBytes);
      compressed = compression !== null;
    } else {
      // The body is one envelope: the limit applies to its message, plus room to notice a second one.
      const envelope = singleEnvelope(await readBody(req, options.readMaxBytes + 10, options.readMaxBytes), options.readMaxBytes);
      bytes = envelope.data;
      if ((envelope.flags & ~COMPRESSED_FLAG) !== 0) throw reservedFlagsError(envelope.flags);
      compressed = (envelope.flags & COMPRESSED_FLAG) !== 0;
      if (compressed && compression === null) throw compressedWithoutEncodingError();
    }
    if (compressed && compression !== null) bytes = await compression.decompress(bytes, options.readMaxBytes);
    return bytes;
  }

  function decodeInput(route: Route, kind: WireKind, bytes: Uint8Array) {
    const desc: DescMessage = route.spec.method.input;
    if (!kind.binary) return route.serialization.getI(false).parse(bytes);
    try {
      return fromBinary(desc, bytes, options.binaryOptions);
    } catch (e) {
      throw malformedMessageError(desc, e);
    }
  }

  /** A successful express answer over Connect: as writeConnect writes one, from plain headers. */
  async function writeConnectAnswer(kind: WireKind, res: NodeResponse, answer: ExpressAnswer, compression: Compression | null) {
    let body = answer.message;
    const header: Record<string, string> = { ...answer.headers, "content-type": kind.contentType };
    if (compression && body.byteLength >= compressMinBytes) {
      body = await compression.compress(body);
      header["content-encoding"] = compression.name;
    }
    header["content-length"] = String(body.byteLength);
    res.writeHead(200, header as never);
    res.end(body);
  }

  /** A successful express answer over gRPC or gRPC-Web: as writeEnveloped writes one. */
  async function writeEnvelopedAnswer(kind: WireKind, res: NodeResponse, answer: ExpressAnswer, compression: Compression | null) {
    const header: Record<string, string> = { ...answer.headers, "content-type": kind.contentType };
    if (compression) header["grpc-encoding"] = compression.name;
    const frame = await envelopeCompress({ flags: 0, data: answer.message }, compression, compressMinBytes);
    const body = encodeEnvelope(frame.flags, frame.data);
    res.writeHead(200, header as never);
    if (kind.protocol === "grpc-web") {
      const end = await envelopeCompress({ flags: trailerFlag, data: OK_TRAILER }, compression, compressMinBytes);
      res.end(Buffer.concat([body, encodeEnvelope(end.flags, end.data)]));
      return;
    }
    res.write(body);
    res.addTrailers({ "grpc-status": "0" });
    res.end();
  }

  async function writeConnect(context: ResponseMeta, res: NodeResponse, message: Uint8Array | undefined, error: ConnectError | undefined, compression: Compression | null) {
    let status = 200;
    let body: Uint8Array;
    if (error === undefined) {
      body = message ?? EMPTY;
    } else {
      status = codeToHttpStatus(error.code);
      context.responseHeader.set("content-type", "application/json");
      if (!error.isWireError) mergeNonProtocolHeaders(context.responseHeader, error.metadata);
      body = errorToJsonBytes(error, options.jsonOptions ?? {});
    }
    if (compression && body.byteLength >= compressMinBytes) {
      body = await compression.compress(body);
      context.responseHeader.set("content-encoding", compression.name);
    }
    const header = nodeHeaders(trailerMux(context.responseHeader, context.responseTrailer));
    header["content-length"] = String(body.byteLength);
    res.writeHead(status, header as never);
    res.end(body);
  }

  async function writeEnveloped(kind: WireKind, context: ResponseMeta, res: NodeResponse, message: Uint8Array | undefined, error: ConnectError | undefined, compression: Compression | null) {
    const trailer = context.responseTrailer;
    if (error !== undefined) setTrailerStatus(trailer, error);
    const frame = message && (await envelopeCompress({ flags: 0, data: message }, compression, compressMinBytes));
    if (kind.protocol === "grpc-web") {
      const end = await envelopeCompress({ flags: trailerFlag, data: trailerSerialize(trailer) }, compression, compressMinBytes);
      const endBytes = encodeEnvelope(end.flags, end.data);
      res.writeHead(200, nodeHeaders(context.responseHeader) as never);
      res.end(frame ? Buffer.concat([encodeEnvelope(frame.flags, frame.data), endBytes]) : endBytes);
      return;
    }
    if (error !== undefined) {
      const text = trailer.get("grpc-message");
      if (text) trailer.set("grpc-message", encodeGrpcMessage(error.rawMessage));
    }
    res.writeHead(200, nodeHeaders(context.responseHeader) as never);
    if (frame) res.write(encodeEnvelope(frame.flags, frame.data));
    res.addTrailers(nodeHeaders(trailer));
    res.end();
  }
}


function nodeHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}
