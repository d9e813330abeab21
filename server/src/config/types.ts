import { z } from "zod";
// Leaf schema files, not the engine barrels: config must not pull in the engine.
import { computeConfigSchema } from "../compute/config.js";
import { logLevels } from "../log/levels.js";
import { poolConfigSchema } from "../pool/config.js";
import { telemetryConfigSchema } from "../telemetry/config.js";
import { defaults as d, logsDefaults as ld } from "./defaults.js";

const int = (min: number) => z.number().int().min(min);

/** The server's configuration: YAML keys, types and defaults in one definition. */
export const serverConfigSchema = z.object({
  host: z.string().min(1).default(d.host).describe("Address to bind. Without API keys only loopback is allowed (anything else is replaced by 127.0.0.1). Env PYFLEET_HOST."),
  port: int(0).max(65_535).default(d.port).describe("Port to listen on; 0 picks a free one. Env PYFLEET_PORT."),
  logLevel: z.enum(logLevels).default(d.logLevel).describe("The server's own log level (JSON lines on stdout): trace, debug, info, warn, error, fatal or silent. Env PYFLEET_LOG_LEVEL."),
  dataDir: z.string().min(1).default(d.dataDir).describe("Where the compute store (SQLite) lives. Env PYFLEET_DATA_DIR."),
  /**
   * The address remote worker groups dial (WorkerLinkService), e.g.
   * https://pyfleet.example.com: needed for worker groups on any provider but
   * local, whose machines cannot reach this server's bind address.
   */
  publicUrl: z.string().regex(/^https?:\/\/[^/\s]+\/?$/, 'must be a URL like "https://pyfleet.example.com" or "http://203.0.113.7:8080" (scheme://host[:port], no path)').optional().describe("The address worker groups on other machines dial (RunPod, remote, Kubernetes), e.g. https://pyfleet.example.com; not loopback or 0.0.0.0. Env PYFLEET_PUBLIC_URL."),
  replicaUrl: z.string().regex(/^https?:\/\/[^/\s]+\/?$/, 'must be a URL like "http://10.0.0.5:8080" (scheme://host[:port], no path)').optional().describe("Where the other replicas of a fleet reach this server to forward calls for its sessions, e.g. http://10.0.0.5:8080. Default: the address it listens on (enough on one machine). Not publicUrl, which may be the balancer. Env PYFLEET_REPLICA_URL."),
  /**
   * Where computes, jobs and request ids live: a postgres:// URL that several
   * servers (replicas) share, or sqlite:FILE. Default: SQLite in dataDir,
   * for one server.
   */
  store: z.string().regex(/^(postgres(ql)?:\/\/|sqlite:)/, "must be a postgres://user@host:port/database URL or sqlite:FILE").optional().describe("Where computes, jobs and request ids live: postgres://user:password@host:port/database for replicas sharing one fleet, or sqlite:FILE. Default: SQLite in dataDir. Env PYFLEET_STORE."),
  shutdownGraceMs: int(0).default(d.shutdownGraceMs).describe("On SIGTERM, milliseconds in-flight calls get to finish before workers stop."),
  idleTimeoutMs: int(1).default(d.idleTimeoutMs).describe("Connections that send nothing for this many milliseconds are closed."),
  maxMessageBytes: int(1024).default(d.maxMessageBytes).describe("Larger request messages are refused with RESOURCE_EXHAUSTED."),
  maxPipelined: int(1).default(d.maxPipelined).describe("Unanswered ExecuteMany requests read per stream before backpressure."),
  tls: z.object({ certFile: z.string().min(1).describe("The certificate chain, PEM."), keyFile: z.string().min(1).describe("The private key, PEM.") }).strict().optional().describe("Serve TLS (HTTP/2 and HTTP/1.1 by ALPN) with these PEM files instead of cleartext."),
  auth: z.object({
    /** Each key is a tenant; its name is what logs show. */
    apiKeys: z.array(z.object({
      name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits, '_', '-' or '.'").describe("The tenant's name: what logs, budgets and logs.operators call it."),
      key: z.string().min(16, "must be at least 16 characters").describe("The secret, at least 16 characters."),
    }).strict()).default([]).describe("Each {name, key} is a tenant: requests send `Authorization: Bearer <key>`. Env PYFLEET_API_KEYS (name:key,name:key)."),
    workerTokens: z.array(z.string().min(16, "must be at least 16 characters")).default([]).describe("Tokens remote workers present to dial in (WorkerLinkService.Attach). Env PYFLEET_WORKER_TOKENS."),
  }).strict().default({ apiKeys: [], workerTokens: [] }).describe("API keys of tenants and tokens of dial-in workers."),
  /** Browsers on other origins (CORS); none by default. */
  cors: z.object({
    allowedOrigins: z.array(z.string().regex(/^(\*|https?:\/\/[^/\s]+)$/, 'must be an origin like "https://app.example.com" (scheme://host[:port], no path), or "*"')).default([]).describe("Origins whose browsers may call the server, e.g. https://app.example.com, or \"*\". Env PYFLEET_CORS_ORIGINS."),
    allowedHeaders: z.array(z.string().min(1)).default([]).describe("Request headers a browser may send beyond those Connect, gRPC-Web and API keys need."),
    exposedHeaders: z.array(z.string().min(1)).default([]).describe("Response headers a browser may read beyond those the protocols need."),
  }).strict().default({ allowedOrigins: [], allowedHeaders: [], exposedHeaders: [] }).describe("Browsers on other origins (CORS); none by default."),
  /** What workers print and log, held for WatchLogs (see docs/logs.md). */
  logs: z.object({
    bufferRecords: int(0).default(ld.bufferRecords).describe("Records held for readers asking for the past: the newest ones across pools."),
    bufferBytes: int(0).default(ld.bufferBytes).describe("Bytes of held records at most; the oldest go first when over."),
    readerQueue: int(1).default(ld.readerQueue).describe("Records a following reader may be behind before it loses the oldest (it is told how many)."),
    maxMessageBytes: int(256).default(ld.maxMessageBytes).describe("A longer message is cut to this many bytes, saying how much was cut."),
    operators: z.array(z.string().min(1)).default([]).describe("API key names that see every record: other tenants' and those outside any call. Without API keys every caller does."),
  }).strict().default({ bufferRecords: ld.bufferRecords, bufferBytes: ld.bufferBytes, readerQueue: ld.readerQueue, maxMessageBytes: ld.maxMessageBytes, operators: [] }).describe("What workers print and log, held in memory for WatchLogs and `pyfleet logs` (docs/logs.md)."),
  pools: z.array(poolConfigSchema).default([{ name: d.defaultPool }].map((p) => poolConfigSchema.parse(p))).describe("The pools of Python workers; default one pool \"default\" running the sample adapter."),
  defaultPool: z.string().optional().describe("The pool requests use when they name none. Default: \"default\" if it exists, else the first pool."),
  compute: computeConfigSchema.default(computeConfigSchema.parse({})).describe("Providers, budgets and timings of the compute layer."),
  telemetry: telemetryConfigSchema.default(telemetryConfigSchema.parse({})).describe("Tracing (OpenTelemetry, exported over OTLP); off unless it has an endpoint (docs/telemetry.md)."),
}).strict();

export type ServerConfigInput = z.input<typeof serverConfigSchema>;
export type ServerConfig = z.output<typeof serverConfigSchema>;
