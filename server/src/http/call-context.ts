import type { Socket } from "node:net";
import type { Http2Session } from "node:http2";
import { type Compression } from "@connectrpc/connect/protocol";
import { Code, ConnectError, createContextValues, type HandlerContext, type MethodImplSpec } from "@connectrpc/connect";
import type { NodeRequest, NodeResponse } from "./exchange.js";
import { StreamRequest } from "./h2-stream.js";
import type { WireKind } from "./unary-wire.js";

/*
 * What one unary call of the front carries besides its message: the signal
 * that tells the handler its client went away, its deadline passed or the
 * server is shutting down; and connect-es's handler context for the general
 * path.
 */

type UnarySpec = Extract<MethodImplSpec, { kind: "unary" }>;

/** A call's signal, with `abort` to end the call and `finish` to detach its triggers once it is over. */
export interface CallSignal {
  readonly signal: AbortSignal;
  abort(reason: unknown): void;
  finish(): void;
}

/** What a response carries besides its message (a handler context has them too). */
export type ResponseMeta = Pick<HandlerContext, "responseHeader" | "responseTrailer">;

/**
 * A call's abort signal: it aborts when the deadline passes, the client goes
 * away, the server shuts down, or `abort` is called. Unlike connect-es's,
 * it does not abort after a normal end (`finish` only detaches the
 * triggers): a unary handler has released its listeners by then, and
 * dispatching an abort event nobody hears cost about 10 µs of every call
 * (a profile of `npm run bench -- --only e2e`).
 */
export function callSignal(res: NodeResponse, timeoutMs: number | undefined, shutdown: AbortSignal | undefined): CallSignal {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
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
    const expire = () => abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    if (timeoutMs <= 0) expire();
    else timer = setTimeout(expire, timeoutMs);
  }
  if (shutdown?.aborted) onShutdown();
  else shutdown?.addEventListener("abort", onShutdown);
  res.once("close", onClose);
  return { signal: controller.signal, abort, finish };
}

/** An HTTP/1.1 socket or an HTTP/2 session: what a connection's calls share. */
type Connection = Pick<Socket | Http2Session, "once">;

const connectionSignals = new WeakMap<Connection, Pick<CallSignal, "signal" | "finish">>();
const NOTHING_TO_DETACH = () => undefined;

/**
 * The abort signal of the calls on one connection (an HTTP/1.1 socket or an
 * HTTP/2 session), made once per connection: it aborts when the connection
 * closes or the server shuts down, without an AbortController and two
 * listeners per call. An HTTP/1.1 response ends early only when its
 * connection closes; an HTTP/2 call cancelled alone is expressSignal's.
 */
export function connectionSignal(socket: Connection, shutdown: AbortSignal | undefined): Pick<CallSignal, "signal" | "finish"> {
  let made = connectionSignals.get(socket);
  if (made !== undefined) return made;
  const controller = new AbortController();
  const onShutdown = () => controller.abort(new ConnectError("the server is shutting down", Code.Unavailable));
  socket.once("close", () => {
    shutdown?.removeEventListener("abort", onShutdown);
    controller.abort(new ConnectError("the client cancelled the request", Code.Canceled));
  });
  if (shutdown?.aborted) onShutdown();
  else shutdown?.addEventListener("abort", onShutdown);
  made = { signal: controller.signal, finish: NOTHING_TO_DETACH };
  connectionSignals.set(socket, made);
  return made;
}

/** An express call's cancellation: a signal (perhaps shared), and `handle.cancel` for this call alone. */
export interface ExpressSignal {
  readonly signal: AbortSignal;
  readonly handle?: { cancel?: (() => void) | undefined };
  finish(): void;
}

/**
 * An express call's cancellation. Over HTTP/1.1 its connection's signal
 * (connectionSignal). Over HTTP/2 streams, its session's signal, and a
 * reset of its own stream before the answer calls `handle.cancel`, which
 * whoever runs the call sets (the pool's CallHandle): a signal of its own
 * per call costs ~5 µs (measured). Otherwise (the compatibility API) a
 * signal of its own, as callSignal makes.
 */
export function expressSignal(req: NodeRequest, res: NodeResponse, shutdown: AbortSignal | undefined): ExpressSignal {
  // HTTP/1.1: the connection's own object, made once; no handle (nothing to set per call in the pool).
  if (req.httpVersionMajor === 1 && req.socket) return connectionSignal(req.socket, shutdown);
  const session = req instanceof StreamRequest ? req.stream.session : undefined;
  if (session === undefined) return callSignal(res, undefined, shutdown);
  const handle: NonNullable<ExpressSignal["handle"]> = {};
  const onClose = () => handle.cancel?.();
  res.once("close", onClose);
  return { signal: connectionSignal(session, shutdown).signal, handle, finish: () => res.off("close", onClose) };
}

/** A response's headers and trailers before the handler adds any. */
export function responseMeta(kind: WireKind, compression: Compression | null): ResponseMeta {
  const responseHeader = new Headers({ "content-type": kind.contentType });
  if (kind.protocol === "connect") return { responseHeader, responseTrailer: new Headers() };
  if (compression) responseHeader.set("grpc-encoding", compression.name);
  return { responseHeader, responseTrailer: new Headers({ "grpc-status": "0" }) };
}

/** A handler context like connect-es's createHandlerContext, on one abort controller instead of three (see callSignal). */
export function handlerContext(spec: UnarySpec, kind: WireKind, req: NodeRequest, res: NodeResponse, timeoutMs: number | undefined, shutdown: AbortSignal | undefined, compression: Compression | null): HandlerContext & { abort(reason: unknown): void; finish(): void } {
  const deadline = timeoutMs === undefined ? 0 : Date.now() + timeoutMs;
  const { signal, abort, finish } = callSignal(res, timeoutMs, shutdown);
  const { responseHeader, responseTrailer } = responseMeta(kind, compression);
  const headers = req.headers;
  return {
    service: spec.method.parent,
    method: spec.method,
    protocolName: kind.protocol,
    requestMethod: "POST",
    url: `http://${single(headers[":authority"]) ?? single(headers.host) ?? "localhost"}${req.url}`,
    signal,
    timeoutMs: () => (timeoutMs === undefined ? undefined : deadline - Date.now()),
    requestHeader: webHeaders(req),
    responseHeader,
    responseTrailer,
    values: createContextValues(),
    abort,
    finish,
  };
}

export function single(value: string | string[] | undefined): string | null {
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
