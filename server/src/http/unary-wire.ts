import { Code, ConnectError } from "@connectrpc/connect";
import type { NodeRequest } from "./exchange.js";

/**
 * The wire shapes of a unary call the front serves: which protocol and codec a
 * content type names, the request body read whole under the size limit, and
 * the one envelope of a gRPC / gRPC-Web request. Anything this does not
 * recognise is left to connect-node, which answers it as before.
 */

export type ProtocolName = "connect" | "grpc" | "grpc-web";

export interface WireKind {
  readonly protocol: ProtocolName;
  /** Protobuf binary (true) or JSON. */
  readonly binary: boolean;
  /** The response's content type, as connect-es writes it. */
  readonly contentType: string;
}

const kind = (protocol: ProtocolName, binary: boolean, contentType: string): WireKind => ({ protocol, binary, contentType });

/** Request content types the front serves, lower-cased, without parameters. */
const KINDS = new Map<string, WireKind>([
  ["application/proto", kind("connect", true, "application/proto")],
  ["application/json", kind("connect", false, "application/json")],
  ["application/grpc", kind("grpc", true, "application/grpc+proto")],
  ["application/grpc+proto", kind("grpc", true, "application/grpc+proto")],
  ["application/grpc+json", kind("grpc", false, "application/grpc+json")],
  ["application/grpc-web", kind("grpc-web", true, "application/grpc-web+proto")],
  ["application/grpc-web+proto", kind("grpc-web", true, "application/grpc-web+proto")],
  ["application/grpc-web+json", kind("grpc-web", false, "application/grpc-web+json")],
]);

/**
 * The protocol and codec of a request's content type, or undefined for one
 * the front leaves to connect-node (streaming Connect, gRPC-Web text,
 * parameters other than a UTF-8 charset on JSON, anything unknown).
 */
export function wireKind(contentType: string | undefined): WireKind | undefined {
  if (contentType === undefined) return undefined;
  const direct = KINDS.get(contentType);
  if (direct) return direct;
  const lower = contentType.toLowerCase();
  const semi = lower.indexOf(";");
  if (semi < 0) return KINDS.get(lower);
  const base = lower.slice(0, semi).trim();
  // Connect's unary JSON may name its charset (utf-8 only); nothing else takes parameters here.
  if (base === "application/json" && /^;\s?charset=utf-?8$/.test(lower.slice(semi).trim())) return KINDS.get(base);
  return undefined;
}

/** A request as Node hands it over: HTTP/1.1, the HTTP/2 compatibility API, or a core HTTP/2 stream's adapter. */
export type { NodeRequest };

function readMaxBytesError(readMaxBytes: number, size?: number): ConnectError {
  return new ConnectError(size === undefined
    ? `message size is larger than configured readMaxBytes ${readMaxBytes}`
    : `message size ${size} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
}

/**
 * Reads a request body whole. It stops reading, with RESOURCE_EXHAUSTED, as
 * soon as the body is longer than `maxBytes` (or says it will be); for
 * enveloped bodies `envelopeMax` also refuses a frame that declares a message
 * over the limit before its bytes arrive.
 */
export function readBody(req: NodeRequest, maxBytes: number, envelopeMax?: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && envelopeMax === undefined && Number(declared) > maxBytes) {
    return Promise.reject(readMaxBytesError(maxBytes, Number(declared)));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let headChecked = envelopeMax === undefined;
    const done = (error?: unknown) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
      if (error !== undefined) reject(error);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (!headChecked && size >= 5) {
        headChecked = true;
        const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        const length = head.readUInt32BE(1);
        if (length > envelopeMax!) {
          discard(req);
          done(readMaxBytesError(envelopeMax!, length));
          return;
        }
      }
      if (size > maxBytes) {
        discard(req);
        done(readMaxBytesError(envelopeMax ?? maxBytes));
      }
    };
    const onEnd = () => done();
    const onError = (e: Error) => done(new ConnectError(`the request body could not be read: ${e.message}`, Code.Canceled, undefined, undefined, e));
    const onAborted = () => done(new ConnectError("the client cancelled the request", Code.Canceled));
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
    req.once("aborted", onAborted);
  });
}

/**
 * Lets the rest of a refused body flow away unread. Node drains an unread
 * HTTP/1.1 body itself only when nobody started reading it; left paused, it
 * would stall the next request on the same keep-alive connection. (An HTTP/2
 * stream is reset by the listener once the response is sent.)
 */
function discard(req: NodeRequest): void {
  req.once("end", () => undefined);
  req.resume();
}

export const COMPRESSED_FLAG = 0b0000_0001;

/**
 * The single message of an enveloped unary request body (gRPC, gRPC-Web),
 * with the protocol errors connect-es gives for a missing, extra or cut-off
 * message.
 */
export function singleEnvelope(body: Buffer, readMaxBytes: number): { flags: number; data: Buffer } {
  if (body.length === 0) throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  if (body.length < 5) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  const flags = body[0]!;
  const length = body.readUInt32BE(1);
  if (length > readMaxBytes) throw readMaxBytesError(readMaxBytes, length);
  if (body.length < 5 + length) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  const rest = body.length - 5 - length;
  if (rest > 0) {
    // A whole second message is the wrong number of messages; anything less is a broken frame.
    if (rest >= 5 && rest >= 5 + body.readUInt32BE(5 + length + 1)) throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
    throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  }
  return { flags, data: body.subarray(5) };
}
