import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { apiKeyInterceptor, type ClientOptions, clientFromTransport, type PyfleetClient } from "./client.js";
import { PyfleetError } from "./errors.js";

/**
 * A client for browsers and any runtime with fetch: Connect or gRPC-Web.
 * (Plain gRPC needs HTTP/2 trailers, which fetch cannot read; in Node use
 * `createClient` from "@pyfleet/sdk/node".)
 */
export function createClient(options: ClientOptions): PyfleetClient {
  if (options.transport) return clientFromTransport(options.transport, false);
  const interceptors = apiKeyInterceptor(options.apiKey);
  switch (options.protocol ?? "connect") {
    case "connect":
      return clientFromTransport(createConnectTransport({ baseUrl: options.baseUrl, interceptors }), false);
    case "grpc-web":
      return clientFromTransport(createGrpcWebTransport({ baseUrl: options.baseUrl, interceptors }), false);
    default:
      throw new PyfleetError("invalid_argument", "protocol \"grpc\" needs HTTP/2 trailers, which fetch cannot read: use \"connect\" or \"grpc-web\" here, or createClient from \"@pyfleet/sdk/node\"");
  }
}
