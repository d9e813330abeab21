import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { apiKeyInterceptor, type ClientOptions, clientFromTransport, type PyfleetClient } from "./client.js";

export * from "./index.js";

/**
 * A client for Node over HTTP/2: Connect, gRPC or gRPC-Web, with bidi
 * streaming (executeMany).
 */
export function createClient(options: ClientOptions): PyfleetClient {
  if (options.transport) return clientFromTransport(options.transport, true);
  const base = { baseUrl: options.baseUrl, httpVersion: "2" as const, interceptors: apiKeyInterceptor(options.apiKey) };
  const protocol = options.protocol ?? "connect";
  const transport = protocol === "grpc" ? createGrpcTransport(base) : protocol === "grpc-web" ? createGrpcWebTransport(base) : createConnectTransport(base);
  return clientFromTransport(transport, true);
}
