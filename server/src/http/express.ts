import type { IncomingHttpHeaders } from "node:http";

/**
 * A unary method's express lane: it decodes the message, runs the call and
 * encodes the answer itself, without connect-es's handler context and
 * interceptors (Headers objects, context values, a promise chain per
 * interceptor), so it must do what they do for it: authentication, request
 * ids, metrics. The front still owns the wire: the protocols, body limits,
 * compression, deadlines, cancellation, errors and trailers.
 */
export interface ExpressMethod {
  /**
   * Serves the call; undefined (returned before doing anything) leaves it
   * to the general path, e.g. for a message shape the lane does not take.
   * Fails with the ConnectError to answer.
   */
  serve(call: ExpressCall): Promise<ExpressAnswer> | undefined;
}

export interface ExpressCall {
  /** Protobuf binary (true) or JSON. */
  readonly binary: boolean;
  /** The request message, read whole and decompressed. */
  readonly message: Uint8Array;
  /** The request's headers as Node has them (lower-case names). */
  readonly headers: IncomingHttpHeaders;
  /** The deadline the client set, in ms from when the request arrived; undefined for none. */
  readonly timeoutMs: number | undefined;
  /**
   * Aborts when the client goes away or the server shuts down. It may be
   * shared by the calls of one connection: a client that cancels this call
   * alone (an HTTP/2 stream reset) is told through `handle`.
   */
  readonly signal: AbortSignal;
  /**
   * Whoever runs the call sets `cancel`; the front calls it when the client
   * cancels this call alone. Absent where only the connection can end a call (HTTP/1.1).
   */
  readonly handle: { cancel?: (() => void) | undefined } | undefined;
}

export interface ExpressAnswer {
  /** The response message, encoded as the request was. */
  readonly message: Uint8Array;
  /** Response headers to send with it. */
  readonly headers: Readonly<Record<string, string>>;
}
