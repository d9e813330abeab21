import { type DescMessage, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";

/*
 * connect-es reports a request body that is not valid protobuf binary as
 * INTERNAL ("parse binary: premature EOF"), as if the server were at fault.
 * It is the client's fault, so pyfleet answers INVALID_ARGUMENT (as
 * connect-go does): request bodies are checked here, before the protocol
 * handler parses them. So are compressed flags on messages of a request
 * that names no encoding, and flags no request may carry (only "compressed"
 * is defined for a request's messages in gRPC, gRPC-Web and Connect; connect-es
 * would run a message with other bits set as if they were clear). Compressed
 * messages and messages over the size limit pass unchecked; the handler deals
 * with those.
 * (It throws ConnectError, not PyfleetError: it runs below the handler,
 * where no interceptor maps errors and connect-es reads the code itself.)
 */

type Framing = "whole" | "enveloped";

const FRAMINGS: Record<string, Framing> = {
  "application/proto": "whole",
  "application/connect+proto": "enveloped",
  "application/grpc": "enveloped",
  "application/grpc+proto": "enveloped",
  "application/grpc-web": "enveloped",
  "application/grpc-web+proto": "enveloped",
};

const COMPRESSED = 0b0000_0001;

/** INVALID_ARGUMENT for a request message that is not valid protobuf binary. */
export function malformedMessageError(desc: DescMessage, cause: unknown): ConnectError {
  return new ConnectError(
    `the request is not a valid ${desc.typeName} in protobuf binary (${(cause as Error).message}); check the client's message types and framing`,
    Code.InvalidArgument,
  );
}

/** INVALID_ARGUMENT for a request message whose envelope sets flags other than "compressed". */
export function reservedFlagsError(flags: number): ConnectError {
  return new ConnectError(`a message has envelope flags 0x${flags.toString(16).padStart(2, "0")}; a request's messages may set only 0x01 (compressed)`, Code.InvalidArgument);
}

/** INVALID_ARGUMENT for a message flagged compressed in a request that names no encoding. */
export function compressedWithoutEncodingError(): ConnectError {
  return new ConnectError("a message is flagged compressed but the request names no encoding; send grpc-encoding (gRPC) or connect-content-encoding (Connect) with it, or clear the flag", Code.InvalidArgument);
}

function checkMessage(desc: DescMessage, bytes: Uint8Array): void {
  try {
    fromBinary(desc, bytes);
  } catch (e) {
    throw malformedMessageError(desc, e);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A unary binary body: checked once complete, unless it grows past the limit. */
async function* checkWhole(body: AsyncIterable<Uint8Array>, desc: DescMessage, maxBytes: number): AsyncGenerator<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const iterator = body[Symbol.asyncIterator]();
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    chunks.push(next.value);
    size += next.value.length;
    if (size > maxBytes) {
      yield* chunks;
      for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value;
      return;
    }
  }
  const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  checkMessage(desc, bytes);
  if (bytes.length > 0) yield bytes;
}

/** Enveloped messages (gRPC, gRPC-Web, Connect streaming): each checked as it completes, then passed on whole. */
async function* checkEnveloped(body: AsyncIterable<Uint8Array>, desc: DescMessage, maxBytes: number, encoded: boolean): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array = new Uint8Array(0);
  let unchecked = false;
  for await (const chunk of body) {
    if (unchecked) {
      yield chunk;
      continue;
    }
    pending = concat(pending, chunk);
    let offset = 0;
    while (pending.length - offset >= 5) {
      const flags = pending[offset]!;
      const length = ((pending[offset + 1]! << 24) >>> 0) + (pending[offset + 2]! << 16) + (pending[offset + 3]! << 8) + pending[offset + 4]!;
      if (length > maxBytes) {
        unchecked = true;
        break;
      }
      // connect-es calls this INTERNAL; the client sent it, so it is the client's fault.
      if ((flags & ~COMPRESSED) !== 0) throw reservedFlagsError(flags);
      if (flags & COMPRESSED && !encoded) {
        throw compressedWithoutEncodingError();
      }
      if (pending.length - offset < 5 + length) break;
      if ((flags & COMPRESSED) === 0) checkMessage(desc, pending.subarray(offset + 5, offset + 5 + length));
      offset += 5 + length;
    }
    if (unchecked) {
      yield pending;
      pending = new Uint8Array(0);
      continue;
    }
    if (offset > 0) {
      yield offset === pending.length ? pending : pending.subarray(0, offset);
      pending = pending.subarray(offset);
    }
  }
  // The body ended inside an envelope: the client cut its last message short.
  if (pending.length > 0) throw new ConnectError(`protocol error: incomplete envelope (the request ended ${pending.length} bytes into a message)`, Code.InvalidArgument);
}

/** Wraps a universal handler so that malformed protobuf request bodies are INVALID_ARGUMENT. */
export function guardDecoding(handler: UniversalHandler, maxBytes: number): UniversalHandler {
  const desc = handler.method.input;
  const guarded = (req: UniversalServerRequest) => {
    const framing = FRAMINGS[(req.header.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase()];
    if (!framing || req.body === undefined || !(Symbol.asyncIterator in Object(req.body))) return handler(req);
    const body = req.body as AsyncIterable<Uint8Array>;
    const encoding = (req.header.get("grpc-encoding") ?? req.header.get("connect-content-encoding") ?? "identity").trim().toLowerCase();
    return handler({ ...req, body: framing === "whole" ? checkWhole(body, desc, maxBytes) : checkEnveloped(body, desc, maxBytes, encoding !== "identity") });
  };
  return Object.assign(guarded, {
    protocolNames: handler.protocolNames,
    service: handler.service,
    method: handler.method,
    requestPath: handler.requestPath,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
  });
}
