/**
 * Every default of the server, in one place, each with its reason.
 * docs/configuration.md is checked against this file by a test.
 */
export const defaults = {
  /** Loopback only: a server with no API keys must not be reachable from other machines. */
  host: "127.0.0.1",
  /** The port `npm start` serves on unless PYFLEET_PORT says otherwise. */
  port: 8080,
  /** JSON lines at info: the URL, pool and provider events, warnings; not per-request noise. */
  logLevel: "info",
  /** Time for in-flight calls to finish on SIGTERM before workers are stopped. */
  shutdownGraceMs: 10_000,
  /** Connections that send nothing for this long are closed (frees sockets of vanished clients). */
  idleTimeoutMs: 120_000,
  /** 4 MiB, gRPC's customary message limit: large enough for real payloads, small enough to bound memory. */
  maxMessageBytes: 4 * 1024 * 1024,
} as const;
