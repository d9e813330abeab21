import { createConnectTransport, createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { apiKeyInterceptor, type ClientOptions, clientFromTransport, type PyfleetClient } from "./client.js";

export * from "./index.js";

/**
 * A client for Node over HTTP/2: Connect, gRPC or gRPC-Web, with bidi
 * streaming (executeMany). `close()` ends its connection; a script that
 * left a stream early needs it to exit promptly.
 */
export function createClient(options: ClientOptions): PyfleetClient {
  if (options.transport) return clientFromTransport(options.transport, true);
  const sessionManager = new Http2SessionManager(options.baseUrl);
  const base = { baseUrl: options.baseUrl, httpVersion: "2" as const, interceptors: apiKeyInterceptor(options.apiKey), sessionManager };
  const protocol = options.protocol ?? "connect";
  const transport = protocol === "grpc" ? createGrpcTransport(base) : protocol === "grpc-web" ? createGrpcWebTransport(base) : createConnectTransport(base);
  return clientFromTransport(transport, true, () => sessionManager.abort());
}
