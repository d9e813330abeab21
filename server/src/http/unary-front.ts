import { type BinaryReadOptions, type DescMessage, fromBinary, type JsonReadOptions, type JsonWriteOptions } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  type HandlerContext,
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
import type { NodeResponse } from "./exchange.js";
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
}

type UnarySpec = Extract<MethodImplSpec, { kind: "unary" }>;

interface Route {
  spec: UnarySpec;
  rpc: string;
  serialization: MethodSerializationLookup<DescMessage, DescMessage>;
}

/** Serves a request when it is a unary call the front knows; returns false to let the caller serve it. */
export interface UnaryFront {
  (req: NodeRequest, res: NodeResponse): boolean;
  /** Whether the front serves this request (by its method, path and headers), without serving it. */
  claims(req: NodeRequest): boolean;
}

const COMPRESS_MIN_BYTES = 1024;
const EMPTY = new Uint8Array(0);

export function createUnaryFront(options: UnaryFrontOptions): UnaryFront {
  const routes = new Map<string, Route>();
  for (const service of options.services) {
    for (const spec of Object.values(service.methods)) {
      if (spec.kind !== "unary") continue;
      routes.set(`/${service.service.typeName}/${spec.method.name}`, {
        spec,
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
    const { spec } = route;
    const headers = req.headers;
    const connect = kind.protocol === "connect";
    const timeout = connect
      ? parseConnectTimeout(single(headers["connect-timeout-ms"]), Number.MAX_SAFE_INTEGER)
      : parseGrpcTimeout(single(headers["grpc-timeout"]), Number.MAX_SAFE_INTEGER);
    const compression = connect
      ? compressionNegotiate(options.acceptCompression, single(headers["content-encoding"]), single(headers["accept-encoding"]), "accept-encoding")
      : compressionNegotiate(options.acceptCompression, single(headers["grpc-encoding"]), single(headers["grpc-accept-encoding"]), "grpc-accept-encoding");

    const context = handlerContext(route.spec, kind, req, res, timeout.timeoutMs, options.shutdownSignal);
    if (!connect && compression.response) context.responseHeader.set("grpc-encoding", compression.response.name);

    let message: Uint8Array | undefined;
    let error: ConnectError | undefined;
    try {
      if (compression.error) throw compression.error;
      if (timeout.error) throw timeout.error;
      const input = await readInput(route, kind, req, compression.request);
      const output = await invokeUnaryImplementation(spec, context, input, options.interceptors);
      message = route.serialization.getO(kind.binary).serialize(output);
    } catch (e) {
      error = e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
      context.abort(error);
    } finally {
      context.finish();
    }
    if (res.destroyed) return;
    if (connect) await writeConnect(context, res, message, error, compression.response);
    else await writeEnveloped(kind, context, res, message, error, compression.response);
  }

  async function readInput(route: Route, kind: WireKind, req: NodeRequest, compression: Compression | null) {
    const desc: DescMessage = route.spec.method.input;
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
    if (!kind.binary) return route.serialization.getI(false).parse(bytes);
    try {
      return fromBinary(desc, bytes, options.binaryOptions);
    } catch (e) {
      throw malformedMessageError(desc, e);
    }
  }

  async function writeConnect(context: HandlerContext, res: NodeResponse, message: Uint8Array | undefined, error: ConnectError | undefined, compression: Compression | null) {
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

  async function writeEnveloped(kind: WireKind, context: HandlerContext, res: NodeResponse, message: Uint8Array | undefined, error: ConnectError | undefined, compression: Compression | null) {
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

/**
 * A handler context like connect-es's createHandlerContext, on one abort
 * controller instead of three: its signal aborts when the deadline passes,
 * the client goes away, the server shuts down, or the handler failed.
 * Unlike connect-es, a handler that returned normally does not see its signal
 * abort afterwards (`finish` only detaches the triggers): a unary handler has
 * released its listeners by then, and dispatching an abort event nobody hears
 * cost about 10 µs of every call (a profile of `npm run bench -- --only e2e`).
 */
function handlerContext(spec: UnarySpec, kind: WireKind, req: NodeRequest, res: NodeResponse, timeoutMs: number | undefined, shutdown: AbortSignal | undefined): HandlerContext & { abort(reason: unknown): void; finish(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let deadline = 0;
  // The response closes before the RPC is over only when the client went
  // away (Node's HTTP/2 compatibility layer reports such a response finished).
  const onClose = () => abort(new ConnectError("the client cancelled the request", Code.Canceled));
  const onShutdown = () => abort(new ConnectError("the server is shutting down", Code.Unavailable));
  let finished = false;
  function finish() {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    res.off("close", onClose);
    shutdown?.removeEventListener("abort", onShutdown);
  }
  function abort(reason: unknown) {
    if (finished || controller.signal.aborted) return;
    finish();
    controller.abort(reason);
  }
  if (timeoutMs !== undefined) {
    deadline = Date.now() + timeoutMs;
    const expire = () => abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    if (timeoutMs <= 0) expire();
    else timer = setTimeout(expire, timeoutMs);
  }
  if (shutdown?.aborted) onShutdown();
  else shutdown?.addEventListener("abort", onShutdown);
  res.once("close", onClose);
  const headers = req.headers;
  return {
    service: spec.method.parent,
    method: spec.method,
    protocolName: kind.protocol,
    requestMethod: "POST",
    url: `http://${single(headers[":authority"]) ?? single(headers.host) ?? "localhost"}${req.url}`,
    signal: controller.signal,
    timeoutMs: () => (timeoutMs === undefined ? undefined : deadline - Date.now()),
    requestHeader: webHeaders(req),
    responseHeader: new Headers({ "content-type": kind.contentType }),
    responseTrailer: kind.protocol === "connect" ? new Headers() : new Headers({ "grpc-status": "0" }),
    values: createContextValues(),
    abort,
    finish,
  };
}

function single(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return typeof value === "string" ? value : value.join(", ");
}

/** The request's headers as Fetch Headers, for the handler context (HTTP/2 pseudo-headers left out). */
function webHeaders(req: NodeRequest): Headers {
  const out = new Headers();
  const raw = req.headers;
  for (const key in raw) {
    if (key.charCodeAt(0) === 58 /* ":" */) continue;
    const value = raw[key];
    if (typeof value === "string") out.append(key, value);
    else if (Array.isArray(value)) for (const v of value) out.append(key, v);
  }
  return out;
}

function nodeHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}
