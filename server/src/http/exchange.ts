import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Socket } from "node:net";

/*
 * What the unary front and the wrappers around it (CORS, the version header)
 * use of a request and its response: Node's HTTP/1.1 objects have it, the
 * HTTP/2 compatibility API's too, and so does the thin adapter over a core
 * HTTP/2 stream (h2-stream.ts) that serves the front's HTTP/2 calls.
 */

// Node types its listeners with any[]; the front passes only (chunk: Buffer) and () listeners.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;

export interface NodeRequest {
  readonly method?: string | undefined;
  /** The path and query (HTTP/2's `:path`). */
  readonly url?: string | undefined;
  /** Lower-cased names; over HTTP/2 the pseudo-headers (`:authority`...) too. */
  readonly headers: IncomingHttpHeaders;
  readonly httpVersionMajor: number;
  /** HTTP/1.1's connection (the HTTP/2 stream adapter has none). */
  readonly socket?: Socket | null | undefined;
  /** The body: "data" (Buffer), "end", "error", "aborted". */
  on(event: string, listener: Listener): unknown;
  once(event: string, listener: Listener): unknown;
  off(event: string, listener: Listener): unknown;
  resume(): unknown;
}

export interface NodeResponse {
  /** True once the status is decided (writeHead or end was called). */
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
  setHeader(name: string, value: string | number | readonly string[]): unknown;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  write(chunk: Uint8Array): unknown;
  addTrailers(trailers: Record<string, string>): void;
  end(chunk?: Uint8Array | string): unknown;
  /** "close": the exchange is over, answered or not (the client may have gone away). */
  once(event: "close", listener: () => void): unknown;
  off(event: "close", listener: () => void): unknown;
}

/** A handler of requests that needs only the narrow shapes above. */
export type ExchangeHandler<Req extends NodeRequest = NodeRequest, Res extends NodeResponse = NodeResponse> = (req: Req, res: Res) => void;
