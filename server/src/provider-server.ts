import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ProviderService } from "@pyfleet/sdk/gen/pyfleet/provider/v1/provider_pb";
import type { Provider } from "./compute/index.js";
import { listen, type RequestHandler } from "./http/listener.js";
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
  const connect = connectNodeAdapter({
    routes: (router) => router.service(ProviderService, providerService(provider)),
    interceptors: [errorInterceptor],
    jsonOptions: { ignoreUnknownFields: false },
  });
  const handler: RequestHandler = (req, res) => connect(req as never, res as never);
  const listener = await listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 0, handler, idleTimeoutMs: 120_000 });
  return { url: listener.url, close: () => listener.close(1_000) };
}
