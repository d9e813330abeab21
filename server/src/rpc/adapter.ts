import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError, type ConnectRouter, type ConnectRouterOptions, createConnectRouter } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { encodeGrpcMessage } from "../http/grpc-message.js";
import { guardDecoding } from "./decode-guard.js";

type NodeRequest = IncomingMessage | Http2ServerRequest;
type NodeResponse = ServerResponse | Http2ServerResponse;

export interface RpcHandlerOptions extends ConnectRouterOptions {
  routes(router: ConnectRouter): void;
  /** Requests for paths no RPC serves. */
  fallback(req: NodeRequest, res: NodeResponse): void;
  /** Called when a handler fails outside the protocol (a bug): the response is already lost. */
  onHandlerFailure?(rpc: string, error: unknown): void;
}

/**
 * The Node request handler of the server's RPCs on Connect, gRPC and
 * gRPC-Web: connect-node's adapter, with request bodies guarded so that
 * malformed protobuf is INVALID_ARGUMENT rather than INTERNAL.
 */
export function rpcRequestHandler(options: RpcHandlerOptions): (req: NodeRequest, res: NodeResponse) => void {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...options });
  options.routes(router);
  const maxBytes = options.readMaxBytes ?? 0xffffffff;
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, guardDecoding(h, maxBytes)]));
  return (req, res) => {
    const handler = handlers.get((req.url ?? "").split("?", 1)[0]!);
    if (!handler) {
      options.fallback(req, res);
      return;
    }
    handler(universalRequestFromNodeRequest(req as never, res as never, undefined, undefined))
      .then((uRes) => universalResponseToNodeResponse(withPlainGrpcMessage(uRes), res as never))
      .catch((reason: unknown) => {
        // Aborted: the client went away mid-response; nothing to report.
        if (ConnectError.from(reason).code !== Code.Aborted) options.onHandlerFailure?.(`${handler.service.typeName}/${handler.method.name}`, reason);
      });
  };
}

/** Re-encodes a grpc-message connect-es wrote, minimally (see encodeGrpcMessage). */
function minimalGrpcMessage(headers: Headers | undefined): void {
  const raw = headers?.get("grpc-message");
  if (!raw || !raw.includes("%")) return;
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    return;
  }
  headers!.set("grpc-message", encodeGrpcMessage(text));
}

function withPlainGrpcMessage(uRes: UniversalServerResponse): UniversalServerResponse {
  if (!(uRes.header?.get("content-type") ?? "").startsWith("application/grpc") || uRes.header?.get("content-type")?.startsWith("application/grpc-web")) return uRes;
  minimalGrpcMessage(uRes.header);
  const body = uRes.body;
  if (body === undefined || !(Symbol.asyncIterator in Object(body))) {
    minimalGrpcMessage(uRes.trailer);
    return uRes;
  }
  return {
    ...uRes,
    // The trailer is complete once the body has been read.
    body: (async function* () {
      yield* body as AsyncIterable<Uint8Array>;
      minimalGrpcMessage(uRes.trailer);
    })(),
  };
}
