export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

/** The server's whole configuration, after defaults and environment overrides. */
export interface ServerConfig {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  logLevel: LogLevel;
  shutdownGraceMs: number;
  idleTimeoutMs: number;
  maxMessageBytes: number;
  /** PEM files: serve TLS (HTTP/2 and HTTP/1.1 by ALPN) instead of cleartext. */
  tls?: { certFile: string; keyFile: string };
}
