import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { once } from "node:events";
import type { ExchangeHandler } from "./exchange.js";
import { StreamRequest, StreamResponse } from "./h2-stream.js";

/** A request handler that serves both HTTP/1.1 and HTTP/2 requests. */
export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface ListenerOptions {
  host: string;
  port: number;
  handler: RequestHandler;
  /** PEM certificate and key: serve TLS, negotiating HTTP/2 or HTTP/1.1 by ALPN. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Close connections that send nothing for this long. */
  idleTimeoutMs: number;
  /** In a cluster worker, bind the port itself instead of sharing the primary's (a process's own address). */
  exclusive?: boolean;
  /**
   * HTTP/2 requests served on Node's core stream API instead of the
   * compatibility API: those `claims` accepts (judging by the method, path
   * and headers alone) go to `handler` as a StreamRequest/StreamResponse
   * pair; every other stream reaches `options.handler` as before.
   */
  streams?: StreamHandler;
}

export interface StreamHandler {
  claims(req: StreamRequest): boolean;
  handler: ExchangeHandler<StreamRequest, StreamResponse>;
}

export interface Listener {
  readonly host: string;
  readonly port: number;
  /** The base URL clients use, e.g. "http://127.0.0.1:8080". */
  readonly url: string;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to
   * `graceMs`, then closes whatever is left.
   */
  close(graceMs: number): Promise<void>;
}

// The HTTP/2 connection preface begins with these bytes; HTTP/1.1 requests
// begin with a method name, which never does.
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const SNIFF_BYTES = 3;

/**
 * Listens on one port for HTTP/1.1 and HTTP/2 at once. Cleartext connections
 * are routed by their first bytes (Node's cleartext HTTP/2 server cannot fall
 * back to HTTP/1.1 on its own); TLS connections by ALPN.
 */
export async function listen(options: ListenerOptions): Promise<Listener> {
  const sessions = new Set<http2.Http2Session>();
  const h1Sockets = new Set<net.Socket>();
  const h1Requests = new WeakMap<net.Socket, number>();
  // The responses not yet complete per session (compatibility and stream ones alike), with their streams.
  const h2Responses = new WeakMap<http2.Http2Session, Map<{ readonly writableEnded: boolean }, http2.ServerHttp2Stream>>();
  let closing = false;

  // Once a response is complete, a request body the handler did not read
  // (e.g. an oversized message it refused) is cut off with RST_STREAM(NO_ERROR),
  // as HTTP/2 allows; otherwise the half-open stream would hold the
  // connection, and a graceful close, open.
  const trackStream = (stream: http2.ServerHttp2Stream, res: { readonly writableEnded: boolean }): (() => void) => {
    const session = stream.session;
    let open = session && h2Responses.get(session);
    if (session && !open) h2Responses.set(session, (open = new Map()));
    open?.set(res, stream);
    return () => {
      if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
      open?.delete(res);
      if (closing && session) closeIfDone(session);
    };
  };
  const handler: RequestHandler = (req, res) => {
    if (req instanceof http2.Http2ServerRequest) {
      // A response ends with "finish" or, when its stream is torn down first, only "close".
      const finished = trackStream(req.stream, res);
      res.once("finish", finished);
      res.once("close", finished);
    }
    options.handler(req, res);
  };
  // A closing session is done when every response on it has been ended by
  // its handler. A response whose request body was never read may not emit
  // "finish" until the client goes away: its stream is closed (NO_ERROR, once
  // its answer is written), and Node ends the session when its last frames
  // are out. Destroying the session here instead cut answers still on their
  // way out (h2-streams.test.ts's graceful close, 2 in 300 under load).
  const closeIfDone = (session: http2.Http2Session) => {
    const open = h2Responses.get(session);
    if (!open) return;
    const entries = [...open];
    if (!entries.every(([res]) => res.writableEnded)) return;
    for (const [, stream] of entries) if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  };

  const h2 = options.tls
    ? http2.createSecureServer({ ...options.tls, allowHTTP1: true }, handler)
    : http2.createServer({}, handler);
  if (options.streams) claimStreams(h2, options.streams, trackStream);
  h2.on("session", (session: http2.Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  // Node only tracks idle keep-alive connections for HTTP/1.1 servers that
  // listen themselves; these are handed sockets, so requests are counted per
  // socket. While closing, a response ends with "Connection: close" and an
  // idle HTTP/1.1 socket is closed at once.
  const countRequests = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    if (req.httpVersionMajor !== 1) return;
    const socket = req.socket as net.Socket;
    h1Requests.set(socket, (h1Requests.get(socket) ?? 0) + 1);
    if (closing) (res as http.ServerResponse).shouldKeepAlive = false;
    res.once("close", () => {
      const left = (h1Requests.get(socket) ?? 1) - 1;
      h1Requests.set(socket, left);
      if (closing && left === 0) socket.end();
    });
  };

  let server: net.Server;
  let h1: http.Server | undefined;
  if (options.tls) {
    server = h2;
    // ALPN picked HTTP/1.1 for these; HTTP/2 ones are tracked as sessions.
    h2.on("secureConnection", (socket: net.Socket & { alpnProtocol?: string | false }) => {
      if (socket.alpnProtocol !== "h2") trackH1(socket);
    });
    h2.on("request", countRequests);
  } else {
    h1 = http.createServer(handler as http.RequestListener);
    h1.keepAliveTimeout = options.idleTimeoutMs;
    h1.on("connection", trackH1);
    h1.on("request", countRequests);
    const cleartextH1 = h1;
    server = net.createServer((socket) => route(socket, h2, cleartextH1, options.idleTimeoutMs));
  }

  function trackH1(socket: net.Socket) {
    h1Sockets.add(socket);
    socket.once("close", () => h1Sockets.delete(socket));
  }

  // Every accepted connection, whatever protocol it turned out to speak: a
  // session Node closed gracefully may leave its socket half open (ended by
  // us, never by a client that stopped reading), which would hold close().
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    // RPCs are small writes answered by small writes: Nagle's algorithm
    // would hold each back for the peer's delayed ACK (tens of ms).
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  server.listen({ port: options.port, host: options.host, exclusive: options.exclusive ?? false });
  await once(server, "listening");
  const address = server.address() as net.AddressInfo;
  const hostForUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    host: address.address,
    port: address.port,
    url: `${options.tls ? "https" : "http"}://${hostForUrl}:${address.port}`,
    async close(graceMs: number) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) {
        // GOAWAY is sent; Node ends a session with nothing in flight once its last frames are out.
        session.close();
        closeIfDone(session);
      }
      for (const socket of h1Sockets) if (!h1Requests.get(socket)) socket.end();
      const open = [...sessions, ...h1Sockets];
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(open.map((c) => new Promise((resolve) => c.once("close", resolve)))),
        new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
      for (const session of sessions) session.destroy();
      for (const socket of h1Sockets) socket.destroy();
      // Give destroyed sessions a turn to close their sockets, then cut what is left.
      await new Promise((resolve) => setImmediate(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/**
 * Puts `streams` in front of the compatibility API on `h2`. Node's server
 * serves that API from one 'stream' listener it adds with the 'request'
 * handler (lib/internal/http2/compat.js `onServerStream`: it builds the
 * request/response pair and emits 'request', 'checkContinue' or 'connect' on
 * the server it is bound to); that listener is taken off and called for the
 * streams `streams` does not claim, so they see exactly what they saw before.
 */
function claimStreams(
  h2: http2.Http2Server | http2.Http2SecureServer,
  streams: StreamHandler,
  track: (stream: http2.ServerHttp2Stream, res: StreamResponse) => () => void,
) {
  const compat = h2.listeners("stream") as ((...args: unknown[]) => void)[];
  if (compat.length !== 1) throw new Error(`expected Node's HTTP/2 server to serve its compatibility API from one 'stream' listener, found ${compat.length}`);
  const serveCompat = compat[0]!;
  h2.off("stream", serveCompat);
  h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
    const req = new StreamRequest(stream, headers);
    // Expect: 100-continue is the compatibility API's to answer (it sends the 100 first).
    if (headers.expect !== undefined || !streams.claims(req)) {
      serveCompat.call(h2, stream, headers, flags, rawHeaders);
      return;
    }
    // Reset by the client before this turn (its frames came in one read): its "aborted" is past, nobody waits for an answer.
    if (stream.destroyed) return;
    // Errors (a reset by the client) end the call through "aborted"/"close"; unheard, one would crash the process.
    stream.on("error", ignore);
    const res = new StreamResponse(stream);
    // Node itself resets (NO_ERROR) a stream whose answer is sent while its request body is still coming;
    // the stream closes then, with its trailers sent (a reset of ours on "finish" could overtake them).
    stream.once("close", track(stream, res));
    streams.handler(req, res);
  });
}

function ignore() {}

function route(socket: net.Socket, h2: http2.Http2Server | http2.Http2SecureServer, h1: http.Server, idleTimeoutMs: number) {
  let buffered: Buffer = Buffer.alloc(0);
  socket.setTimeout(idleTimeoutMs, () => socket.destroy());
  socket.on("error", () => socket.destroy());
  const onData = (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const n = Math.min(buffered.length, SNIFF_BYTES);
    const maybeH2 = buffered.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (maybeH2 && buffered.length < SNIFF_BYTES) return; // wait for more bytes to decide
    socket.off("data", onData);
    socket.pause();
    socket.setTimeout(0);
    socket.unshift(buffered);
    if (maybeH2) {
      // The HTTP/2 session reads the pushed-back bytes itself; resuming here would lose them.
      h2.emit("connection", socket);
    } else {
      h1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
}
