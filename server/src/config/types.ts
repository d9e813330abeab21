import { z } from "zod";
// Leaf schema files, not the engine barrels: config must not pull in the engine.
import { computeConfigSchema } from "../compute/config.js";
import { logLevels } from "../log/levels.js";
import { poolConfigSchema } from "../pool/config.js";
import { defaults as d } from "./defaults.js";

const int = (min: number) => z.number().int().min(min);

/** The server's configuration: YAML keys, types and defaults in one definition. */
export const serverConfigSchema = z.object({
  host: z.string().min(1).default(d.host),
  /** 0 picks a free port (tests). */
  port: int(0).max(65_535).default(d.port),
  logLevel: z.enum(logLevels).default(d.logLevel),
  dataDir: z.string().min(1).default(d.dataDir),
  /**
   * The address remote worker groups dial (WorkerLinkService), e.g.
   * https://pyfleet.example.com: needed for worker groups on any provider but
   * local, whose machines cannot reach this server's bind address.
   */
  publicUrl: z.string().regex(/^https?:\/\/[^/\s]+\/?$/, 'must be a URL like "https://pyfleet.example.com" or "http://203.0.113.7:8080" (scheme://host[:port], no path)').optional(),
  /**
   * Where computes, jobs and request ids live: a postgres:// URL that several
   * servers (replicas) share, or sqlite:FILE. Default: SQLite in dataDir,
   * for one server.
   */
  store: z.string().regex(/^(postgres(ql)?:\/\/|sqlite:)/, "must be a postgres://user@host:port/database URL or sqlite:FILE").optional(),
  shutdownGraceMs: int(0).default(d.shutdownGraceMs),
  idleTimeoutMs: int(1).default(d.idleTimeoutMs),
  maxMessageBytes: int(1024).default(d.maxMessageBytes),
  maxPipelined: int(1).default(d.maxPipelined),
  /** PEM files: serve TLS (HTTP/2 and HTTP/1.1 by ALPN) instead of cleartext. */
  tls: z.object({ certFile: z.string().min(1), keyFile: z.string().min(1) }).strict().optional(),
  auth: z.object({
    /** Each key is a tenant; its name is what logs show. */
    apiKeys: z.array(z.object({
      name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits, '_', '-' or '.'"),
      key: z.string().min(16, "must be at least 16 characters"),
    }).strict()).default([]),
    /** Tokens remote workers present to dial in (WorkerLinkService.Attach). */
    workerTokens: z.array(z.string().min(16, "must be at least 16 characters")).default([]),
  }).strict().default({ apiKeys: [], workerTokens: [] }),
  /** Browsers on other origins (CORS); none by default. */
  cors: z.object({
    allowedOrigins: z.array(z.string().regex(/^(\*|https?:\/\/[^/\s]+)$/, 'must be an origin like "https://app.example.com" (scheme://host[:port], no path), or "*"')).default([]),
    /** Request headers a browser may send beyond those Connect, gRPC-Web and API keys need. */
    allowedHeaders: z.array(z.string().min(1)).default([]),
    /** Response headers a browser may read beyond those the protocols need. */
    exposedHeaders: z.array(z.string().min(1)).default([]),
  }).strict().default({ allowedOrigins: [], allowedHeaders: [], exposedHeaders: [] }),
  pools: z.array(poolConfigSchema).default([{ name: d.defaultPool }].map((p) => poolConfigSchema.parse(p))),
  /** Default: "default" if such a pool exists, else the first pool. */
  defaultPool: z.string().optional(),
  /** Providers, budgets and timings of the compute layer. */
  compute: computeConfigSchema.default(computeConfigSchema.parse({})),
}).strict();

export type ServerConfigInput = z.input<typeof serverConfigSchema>;
export type ServerConfig = z.output<typeof serverConfigSchema>;
