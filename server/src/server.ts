import { setMaxListeners } from "node:events";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { isIP } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { type ConnectRouter, createServiceImplSpec, type ServiceImpl } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { Health } from "@pyfleet/sdk/gen/grpc/health/v1/health_pb";
import { ComputeService } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { WorkerLinkService } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import { apiKeySet, WorkerTokens } from "./auth/index.js";
import { createCompute, type Orchestrator, type ToolRunner, type WorkerGroupHost } from "./compute/index.js";
import { resolveConfig, type ServerConfig, type ServerConfigInput } from "./config/index.js";
import { Fleet, SessionRouter } from "./fleet/index.js";
import { HealthRegistry } from "./health/index.js";
import { withCors } from "./http/cors.js";
import type { NodeRequest, NodeResponse } from "./http/exchange.js";
import { listen, type RequestHandler, type StreamHandler } from "./http/listener.js";
import { createUnaryFront } from "./http/unary-front.js";
import { createLogger, type Logger } from "./log/index.js";
import { LogHub } from "./logs/index.js";
import { createMetrics } from "./metrics/index.js";
import { defaultPython, LinkServer, Pool, PoolRegistry, resolvePoolConfig } from "./pool/index.js";
import { authInterceptor } from "./rpc/auth.js";
import { computeService } from "./rpc/compute.js";
import { rpcRequestHandler } from "./rpc/adapter.js";
import { errorInterceptor } from "./rpc/errors.js";
import { healthService } from "./rpc/health.js";
import { observeInterceptor } from "./rpc/observe.js";
import { executeExpress } from "./rpc/execute-express.js";
import { poolService } from "./rpc/pool.js";
import { registerReflection } from "./rpc/reflection.js";
import { routeSessions } from "./rpc/session-routing.js";
import { workerLinkService } from "./rpc/worker-link.js";
import { traceInterceptor } from "./rpc/trace.js";
import { createTelemetry, type TelemetryOptions } from "./telemetry/index.js";
import { serveUi } from "./ui/index.js";
import { SERVER_VERSION, VERSION_HEADER } from "./version.js";

export interface PyfleetServer {
  /** The base URL, e.g. "http://127.0.0.1:8080". */
  readonly url: string;
  readonly port: number;
  readonly config: ServerConfig;
  readonly health: HealthRegistry;
  readonly logger: Logger;
  readonly pools: PoolRegistry;
  readonly workerTokens: WorkerTokens;
  readonly compute: Orchestrator;
  /** What the pools' workers printed and logged, for WatchLogs. */
  readonly logs: LogHub;
  /** This server as a replica: its id (in its session ids and the `pyfleet-replica` header) and the address its peers dial. */
  readonly fleet: Fleet;
  /** Resolves when every pool has its workers ready. */
  ready(): Promise<void>;
  /** Stops accepting, lets in-flight calls finish (up to the grace period), stops every worker. */
  close(): Promise<void>;
}

export interface CreateServerOptions {
  /** Where log lines go; default stdout. */
  logDestination?: NodeJS.WritableStream;
  /**
   * This server is process `index` of `count` of one `pyfleet serve
   * --processes N` (a cluster worker): it shares the port with its siblings,
   * listens on a loopback port of its own for calls they forward, and shares
   * the SQLite file with them.
   */
  process?: { index: number; count: number };
  /** A span exporter that gets every span as it ends (tests); tracing is on with it even without `telemetry.otlpEndpoint`. */
  spanExporter?: TelemetryOptions["exporter"];
}

/** The services the router serves, for health and reflection. */
const SERVED: DescService[] = [Health, PoolService, ComputeService, WorkerLinkService];

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

/** One service's implementation, for connect's router and for the unary front alike. */
function served<T extends DescService>(service: T, impl: Partial<ServiceImpl<T>>) {
  return { spec: createServiceImplSpec(service, impl), register: (router: ConnectRouter) => router.service(service, impl) };
}

/** Computes' worker groups, as the pools and worker tokens serve them. */
function workerGroupHost(pools: PoolRegistry, tokens: WorkerTokens, url: () => string, publicUrl: string | undefined): WorkerGroupHost {
  return {
    serverUrl: url,
    publicUrl: () => publicUrl,
    poolAdapter: (pool) => (pools.has(pool) ? pools.get(pool).config.adapter : undefined),
    issueToken: (computeId, pool) => tokens.issue(pool, computeId),
    attachedWorkers: (computeId) => pools.list().reduce((n, p) => n + p.countGroup(computeId), 0),
    lastActivity: (computeId) => Math.max(0, ...pools.list().map((p) => p.groupActivity(computeId) ?? 0)) || undefined,
    onChange(listener) {
      const onEvent = (e: { group?: string }) => {
        if (e.group) listener(e.group);
      };
      for (const p of pools.list()) p.events.on("event", onEvent);
      return () => {
        for (const p of pools.list()) p.events.off("event", onEvent);
      };
    },
    revoke(computeId) {
      tokens.revoke(computeId);
      for (const p of pools.list()) p.detachGroup(computeId, "its compute was terminated");
    },
  };
}

/** `local` jobs: tool calls on the server's pools. */
function toolRunner(pools: PoolRegistry): ToolRunner {
  return {
    async execute(pool, tool, args, opts) {
      return (await pools.get(pool).call(tool, args, opts)).value;
    },
    async *stream(pool, tool, args, opts) {
      for await (const event of pools.get(pool).executeStream(tool, args, opts)) {
        if (event.kind === "chunk") yield event.value;
      }
    },
  };
}

/** `url` with another port. */
function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.origin;
}

/** Names the replica that received a request (behind a balancer or with --processes, which one served it). */
export const REPLICA_HEADER = "pyfleet-replica";

/** Every response states the server's version (clients pick wire features by it; `pyfleet --version` prints it) and its replica. */
function withVersionHeader<Req extends NodeRequest, Res extends NodeResponse>(handler: (req: Req, res: Res) => void, replica: string): (req: Req, res: Res) => void {
  return (req, res) => {
    res.setHeader(VERSION_HEADER, SERVER_VERSION);
    res.setHeader(REPLICA_HEADER, replica);
    handler(req, res);
  };
}

/** Builds the whole server from its configuration and starts listening. */
export async function createServer(input: ServerConfigInput = {}, options: CreateServerOptions = {}): Promise<PyfleetServer> {
  const config = resolveConfig(input);
  const logger = createLogger(config.logLevel, options.logDestination);
  let host = config.host;
  if (config.auth.apiKeys.length === 0) {
    if (!isLoopback(host)) {
      logger.warn({ requested: host }, `no API keys configured: binding to 127.0.0.1 only, not ${host}; set auth.apiKeys or PYFLEET_API_KEYS to serve other machines`);
      host = "127.0.0.1";
    } else {
      logger.warn("no API keys configured: any local process can call this server; set auth.apiKeys or PYFLEET_API_KEYS");
    }
  }

  const telemetry = await createTelemetry(config.telemetry, { exporter: options.spanExporter });
  if (telemetry.enabled) logger.info({ otlpEndpoint: config.telemetry.otlpEndpoint, sampleRatio: config.telemetry.sampleRatio }, "tracing is on (OpenTelemetry)");
  const linkServer = await LinkServer.start();
  const { operators, ...hubOptions } = config.logs;
  const logs = new LogHub(hubOptions);
  const pools = await Promise.all(config.pools.map((p) => Pool.create(resolvePoolConfig(p), { logger, linkServer, logs })));
  const names = pools.map((p) => p.name);
  const registry = new PoolRegistry(pools, config.defaultPool ?? (names.includes("default") ? "default" : names[0] ?? "default"));
  const workerTokens = new WorkerTokens(config.auth.workerTokens);
  // Computes are read at scrape time, by when `compute` exists.
  const metrics = createMetrics({ pools: registry, logs, computes: () => compute.allLive() });
  const health = new HealthRegistry();
  let serverUrl = "";
  const compute = await createCompute(config.compute, {
    logger,
    dataDir: resolve(config.dataDir),
    store: config.store,
    sharedFile: options.process !== undefined,
    python: defaultPython(),
    workerHost: workerGroupHost(registry, workerTokens, () => serverUrl, config.publicUrl?.replace(/\/$/, "")),
    toolRunner: toolRunner(registry),
    telemetry,
  });

  // Sessions live on the replica that created them; calls for them elsewhere take one hop there.
  const fleet = new Fleet(compute.store, { logger });
  const sessionRouter = new SessionRouter(fleet, (id, tenant) => registry.hasSession(id, tenant));

  // Each service's implementation is built once: connect-node serves its
  // streams (and whatever the unary front declines), the front its unary calls.
  const services = [
    served(Health, healthService(health)),
    served(PoolService, routeSessions(poolService(registry, { maxPipelined: config.maxPipelined, logs, logOperators: operators, sessionIdSuffix: fleet.sessionIdSuffix, router: sessionRouter }), sessionRouter)),
    served(ComputeService, computeService(compute)),
    served(WorkerLinkService, workerLinkService(registry, workerTokens, logger)),
  ];
  const routes = (router: ConnectRouter) => {
    for (const service of services) service.register(router);
    registerReflection(router, SERVED);
  };
  const apiKeys = apiKeySet(config.auth.apiKeys);
  const shutdown = new AbortController();
  // connect-es links every in-flight request to this signal: many listeners is normal here.
  setMaxListeners(0, shutdown.signal);
  const onHandlerFailure = (rpc: string, error: unknown) => logger.error({ rpc, err: error }, "an RPC handler failed outside the protocol");
  const rpcOptions = {
    readMaxBytes: config.maxMessageBytes,
    writeMaxBytes: config.maxMessageBytes * 4,
    jsonOptions: { ignoreUnknownFields: false },
    shutdownSignal: shutdown.signal,
    // Outermost first: errorInterceptor turns every PyfleetError (auth's too) into a Connect error before observe counts it.
    // The trace interceptor only when tracing is on: off, the chain is as it was.
    interceptors: [
      observeInterceptor(logger, metrics),
      ...(telemetry.enabled ? [traceInterceptor(telemetry, [Health.typeName, WorkerLinkService.typeName])] : []),
      errorInterceptor,
      authInterceptor(apiKeys),
    ],
    onHandlerFailure,
  };
  // Execute's express lane skips connect-es's handler machinery (see rpc/execute-express.ts); traced calls take the general path.
  // PYFLEET_UNARY_FRONT=general keeps the front but without express lanes (to compare).
  const express = new Map(telemetry.enabled || process.env.PYFLEET_UNARY_FRONT === "general" ? [] : [[`/${PoolService.typeName}/Execute`, executeExpress({ pools: registry, keys: apiKeys, logger, metrics, router: sessionRouter })]]);
  const front = createUnaryFront({ ...rpcOptions, services: services.map((s) => s.spec), acceptCompression: [compressionGzip, compressionBrotli], express });
  const connectHandler: RequestHandler = rpcRequestHandler({
    ...rpcOptions,
    routes,
    fallback(req, res) {
      if (req.method === "GET" && req.url?.split("?")[0] === "/metrics") {
        void metrics.registry.metrics().then((body) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(body);
        });
        return;
      }
      if (serveUi(req, res)) return;
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found: pyfleet serves Connect/gRPC/gRPC-Web RPCs at /<package.Service>/<Method>, Prometheus metrics at /metrics and a status page at /ui/\n");
    },
  });

  // PYFLEET_UNARY_FRONT=off serves everything through connect-node (to compare, or to rule the front out).
  const frontOn = process.env.PYFLEET_UNARY_FRONT !== "off";
  const handler: RequestHandler = frontOn
    ? (req, res) => {
      if (!front(req, res)) connectHandler(req, res);
    }
    : connectHandler;
  // Over HTTP/2 the front's calls skip Node's compatibility API: the listener hands it their streams.
  const frontStreams = (wrap: <Req extends NodeRequest, Res extends NodeResponse>(h: (req: Req, res: Res) => void) => (req: Req, res: Res) => void): StreamHandler | undefined =>
    frontOn ? { claims: front.claims, handler: wrap((req, res) => void front(req, res)) } : undefined;
  const corsOptions = { ...config.cors, exposedHeaders: [...config.cors.exposedHeaders, VERSION_HEADER, REPLICA_HEADER] };
  const tls = config.tls && { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) };
  const listener = await listen({
    host,
    port: config.port,
    // Browsers on allowed origins may read the version header too (clients pick wire features by it).
    handler: withCors(corsOptions, withVersionHeader(handler, fleet.id)),
    streams: frontStreams((h) => withCors(corsOptions, withVersionHeader(h, fleet.id))),
    idleTimeoutMs: config.idleTimeoutMs,
    tls,
  });

  // Health: the server, each service, and each pool ("pool:<name>"); the pool
  // service is SERVING while every pool has a ready worker, or needs none: a
  // pool with minSize 0 (scaled to zero, or dial-in only) starts one when a
  // call comes, so it is broken only while its circuit is open.
  const updatePoolHealth = () => {
    let all = true;
    for (const pool of pools) {
      const s = pool.stats();
      const up = s.workersReady + s.workersBusy > 0 || (pool.config.minSize === 0 && !s.circuitOpen);
      health.set(`pool:${pool.name}`, up ? "SERVING" : "NOT_SERVING");
      all &&= up;
    }
    health.set(PoolService.typeName, all ? "SERVING" : "NOT_SERVING");
  };
  // A cluster worker shares the port with its siblings, so hops need an address of this process's own:
  // a free port on the same host (with replicaUrl's host, when set, as what peers dial).
  const hopListener = options.process && await listen({
    host,
    port: 0,
    handler: withVersionHeader(handler, fleet.id),
    streams: frontStreams((h) => withVersionHeader(h, fleet.id)),
    idleTimeoutMs: config.idleTimeoutMs,
    tls,
    exclusive: true,
  });
  serverUrl = listener.url;
  await fleet.join(hopListener ? withPort(config.replicaUrl ?? hopListener.url, hopListener.port) : config.replicaUrl ?? listener.url);
  health.set("", "SERVING");
  for (const service of SERVED) health.set(service.typeName, "SERVING");
  updatePoolHealth();
  for (const pool of pools) pool.events.on("event", updatePoolHealth);
  logger.info({ url: listener.url, replica: fleet.id, pid: process.pid, process: options.process?.index }, `pyfleet listening on ${listener.url}`);

  let closing: Promise<void> | undefined;
  return {
    url: listener.url,
    port: listener.port,
    config,
    health,
    logger,
    pools: registry,
    workerTokens,
    compute,
    logs,
    fleet,
    ready: () => Promise.all(pools.map((p) => p.ready())).then(() => undefined),
    close() {
      closing ??= (async () => {
        for (const pool of pools) pool.events.off("event", updatePoolHealth);
        health.setAll("NOT_SERVING");
        // Following log readers end now rather than hold the listener open for the grace period.
        logs.close();
        await Promise.all([listener.close(config.shutdownGraceMs), hopListener?.close(config.shutdownGraceMs)]);
        shutdown.abort();
        sessionRouter.close();
        await fleet.close();
        await compute.close();
        await registry.close(config.shutdownGraceMs);
        await linkServer.close();
        await telemetry.shutdown();
        logger.info("pyfleet stopped");
      })();
      return closing;
    },
  };
}
