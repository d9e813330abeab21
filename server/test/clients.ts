import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";

export type ProtocolName = "connect" | "connect-json" | "grpc" | "grpc-web";

export const PROTOCOLS: ProtocolName[] = ["connect", "connect-json", "grpc", "grpc-web"];

/** A transport to `url` speaking one protocol over HTTP/2, optionally with an API key. */
export function transportFor(url: string, protocol: ProtocolName, apiKey?: string): Transport {
  const interceptors: Interceptor[] = apiKey
    ? [(next) => (req) => {
      req.header.set("authorization", `Bearer ${apiKey}`);
      return next(req);
    }]
    : [];
  const base = { baseUrl: url, httpVersion: "2" as const, interceptors };
  switch (protocol) {
    case "connect":
      return createConnectTransport(base);
    case "connect-json":
      return createConnectTransport({ ...base, useBinaryFormat: false });
    case "grpc":
      return createGrpcTransport(base);
    case "grpc-web":
      return createGrpcWebTransport(base);
  }
}

export function clientFor<T extends DescService>(service: T, url: string, protocol: ProtocolName = "connect", apiKey?: string): Client<T> {
  return createClient(service, transportFor(url, protocol, apiKey));
}
