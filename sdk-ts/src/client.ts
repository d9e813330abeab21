import { type Client, createClient as createRpcClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus } from "./gen/grpc/health/v1/health_pb.js";
import { ComputeService } from "./gen/pyfleet/compute/v1/compute_pb.js";
import { PoolService } from "./gen/pyfleet/pool/v1/pool_pb.js";
import { withPyfleetErrors } from "./errors.js";
import { ComputeClient } from "./compute.js";
import { type LogRecord, watchLogs, type WatchLogsOptions } from "./logs.js";
import { PoolClient } from "./pool.js";

export type Protocol = "connect" | "grpc" | "grpc-web";

export interface ClientOptions {
  /** The server, e.g. "http://127.0.0.1:8080". */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Default "connect". */
  protocol?: Protocol;
  /** Use this transport instead of building one (advanced). */
  transport?: Transport;
}

export interface PyfleetClient {
  /** The server's default pool. */
  readonly pool: PoolClient;
  /** Another pool by name. */
  poolNamed(name: string): PoolClient;
  readonly compute: ComputeClient;
  /**
   * What the workers printed and logged, oldest first: the records the server
   * holds that pass the filters, then with `follow` new ones until `signal`
   * aborts. With API keys a caller sees its own calls' records (docs/logs.md).
   */
  logs(options?: WatchLogsOptions): AsyncGenerator<LogRecord>;
  /** True when the server reports SERVING. */
  healthy(service?: string): Promise<boolean>;
  /** Closes the client's connection (Node clients); later calls reconnect. */
  close(): void;
  /** The raw generated clients, for anything the helpers do not cover. */
  readonly rpc: { pool: Client<typeof PoolService>; compute: Client<typeof ComputeService>; health: Client<typeof Health> };
}

/** Adds the API key to every request. */
export function apiKeyInterceptor(apiKey: string | undefined): Interceptor[] {
  if (!apiKey) return [];
  return [(next) => (req) => {
    req.header.set("authorization", `Bearer ${apiKey}`);
    return next(req);
  }];
}

/** A client over any Connect transport. `bidi` says whether it can carry bidi streams. */
export function clientFromTransport(rawTransport: Transport, bidi: boolean, close: () => void = () => {}): PyfleetClient {
  // Every call fails with PyfleetError only, the raw clients' too.
  const transport = withPyfleetErrors(rawTransport);
  const pool = createRpcClient(PoolService, transport);
  const compute = createRpcClient(ComputeService, transport);
  const health = createRpcClient(Health, transport);
  return {
    pool: new PoolClient(pool, "", bidi),
    poolNamed: (name) => new PoolClient(pool, name, bidi),
    compute: new ComputeClient(compute),
    logs: (options = {}) => watchLogs(pool, options),
    close,
    healthy: async (service = "") => (await health.check({ service })).status === HealthCheckResponse_ServingStatus.SERVING,
    rpc: { pool, compute, health },
  };
}
