/** Severities, least severe first; a filter's minimum compares by this order. */
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** How a line came from Python: print/sys.stdout or fd 1, sys.stderr or fd 2, or a `logging` record. */
export type LogSourceName = "stdout" | "stderr" | "logging";

/** What a pool reports about one line a worker wrote. */
export interface LogInput {
  level: LogLevelName;
  message: string;
  source: LogSourceName;
  /** The Python logger's name for `logging` records; "stdout" or "stderr" otherwise. */
  logger: string;
  pool: string;
  workerId: string;
  workerPid: number;
  /** The session of the call that wrote it, as its tenant named it; "" outside a session. */
  sessionId: string;
  /** The request id of the call that wrote it; "" outside a call. */
  requestId: string;
  /** The tool that was running; "" outside a call. */
  tool: string;
  /**
   * The tenant whose call wrote it ("" when the server has no API keys), or
   * null for a line written outside any call: such lines may carry any
   * tenant's data, so only operators see them (see visibleTo).
   */
  tenant: string | null;
}

/** One record of the hub. */
export interface LogRecord extends LogInput {
  /** Increases by one per record the hub takes, from 1. */
  seq: number;
  /** When the server received it, in ms since the epoch. */
  time: number;
}

/** Where records go; the pools write to it and never wait. */
export interface LogSink {
  write(input: LogInput): void;
}
