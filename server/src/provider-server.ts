import { ProviderService } from "@pyfleet/protocol/gen/pyfleet/provider/v1/provider_pb";
import type { Provider } from "./compute/index.js";
import { listen, type RequestHandler } from "./http/listener.js";
import { rpcRequestHandler } from "./rpc/adapter.js";
import { errorInterceptor } from "./rpc/errors.js";
import { providerService } from "./rpc/provider.js";

export interface ProviderServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves a Provider as a pyfleet.provider.v1.ProviderService endpoint on
 * Connect, gRPC and gRPC-Web: to certify it with `pyfleet-conformance
 * provider`, or to let another pyfleet server use it as a "remote" provider.
 */
export async function serveProvider(provider: Provider, options: { host?: string; port?: number } = {}): Promise<ProviderServer> {
  const handler: RequestHandler = rpcRequestHandler({
    routes: (router) => router.service(ProviderService, providerService(provider)),
    interceptors: [errorInterceptor],
    jsonOptions: { ignoreUnknownFields: false },
    fallback(_req, res) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found: this endpoint serves pyfleet.provider.v1.ProviderService\n");
    },
  });
  const listener = await listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 0, handler, idleTimeoutMs: 120_000 });
  return { url: listener.url, close: () => listener.close(1_000) };
}
