import { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream, sensitiveHeaders } from "node:http2";
import type { NodeRequest, NodeResponse } from "./exchange.js";

/*
 * A request and response over one HTTP/2 stream on Node's core API
 * (`respond`, `end`, `sendTrailers`), for the unary front. Node's
 * compatibility objects (Http2ServerRequest/Response) cost several times as
 * much per call: each is a stream of its own with a proxy socket, header
 * validation per header, and listeners per event on the HTTP/2 stream. A
 * unary answer is known whole before it is sent, so this one collects the
 * status, headers, body and trailers and hands them to the stream at `end`.
 */

// Node types its listeners with any[]; the front passes only (chunk: Buffer) and () listeners.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;

export class StreamRequest implements NodeRequest {
  readonly httpVersionMajor = 2;
  readonly method: string | undefined;
  readonly url: string | undefined;

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
  ) {
    this.method = headers[":method"];
    this.url = headers[":path"];
  }

  // The body is the stream's readable side: "data", "end", "error" and
  // "aborted" (reset by the client before the answer) are the stream's own.
  on(event: string, listener: Listener): this {
    this.stream.on(event, listener as never);
    return this;
  }

  once(event: string, listener: Listener): this {
    this.stream.once(event, listener as never);
    return this;
  }

  off(event: string, listener: Listener): this {
    this.stream.off(event, listener as never);
    return this;
  }

  resume(): this {
    this.stream.resume();
    return this;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Response headers whose value differs on every response. HPACK would index
 * each (nghttp2 indexes what it does not know), so every answer would take a
 * slot in the connection's table and evict what does repeat (content-type,
 * grpc-status): both ends then re-encode and re-index every header of every
 * answer. Sent never-indexed, they leave the table to what repeats; nghttp2's
 * deflate fell from 7% of the server's CPU under load to 1%.
 */
const NEVER_INDEXED = ["x-request-id"];

export class StreamResponse implements NodeResponse {
  headersSent = false;
  writableEnded = false;
  private status = 200;
  private readonly head: OutgoingHttpHeaders = {};
  private chunks: Uint8Array[] = [];
  private trailers: Record<string, string> | undefined;

  constructor(readonly stream: ServerHttp2Stream) {}

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  setHeader(name: string, value: string | number | readonly string[]): this {
    this.head[name.toLowerCase()] = value as string;
    return this;
  }

  writeHead(status: number, headers?: OutgoingHttpHeaders): this {
    this.status = status;
    if (headers) for (const name in headers) this.head[name.toLowerCase()] = headers[name];
    this.headersSent = true;
    return this;
  }

  write(chunk: Uint8Array): boolean {
    this.chunks.push(chunk);
    return true;
  }

  addTrailers(trailers: Record<string, string>): void {
    this.trailers = this.trailers ? { ...this.trailers, ...trailers } : trailers;
  }

  end(chunk?: Uint8Array | string): this {
    if (this.writableEnded) return this;
    this.writableEnded = true;
    this.headersSent = true;
    const stream = this.stream;
    // The client reset the stream first: there is nobody to answer.
    if (stream.destroyed || stream.closed) return this;
    if (chunk !== undefined) this.chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    const body = this.chunks.length === 1 ? this.chunks[0]! : this.chunks.length === 0 ? EMPTY : Buffer.concat(this.chunks);
    this.chunks = [];
    const head = this.head;
    head[":status"] = this.status;
    // Names absent from the head are ignored by Node, so the list goes on every answer.
    (head as { [sensitiveHeaders]?: string[] })[sensitiveHeaders] = NEVER_INDEXED;
    const trailers = this.trailers;
    try {
      if (trailers !== undefined) stream.respond(head, { waitForTrailers: true });
      else stream.respond(head, { endStream: body.byteLength === 0 });
    } catch (e) {
      // A header Node refuses (a value with a line break...): the call still gets an answer, as from the compatibility API.
      if (!stream.headersSent) stream.respond({ ":status": 500 }, { endStream: true });
      throw e;
    }
    if (trailers !== undefined) {
      stream.once("wantTrailers", () => stream.sendTrailers(trailers));
      stream.end(body);
    } else if (body.byteLength > 0) {
      stream.end(body);
    }
    return this;
  }

  once(event: "close", listener: () => void): this {
    this.stream.once(event, listener);
    return this;
  }

  off(event: "close", listener: () => void): this {
    this.stream.off(event, listener);
    return this;
  }
}
