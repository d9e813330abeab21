import { type Log, LogLevel, LogSource } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import type { LogLevelName, LogSourceName } from "../logs/index.js";
import type { PoolCore } from "./core.js";
import { sessionIdOfKey } from "./sessions/index.js";
import type { ActiveCall, Worker } from "./worker.js";

// What workers write: each line becomes a record for WatchLogs (the
// server's LogHub, when the pool has one) and a line of the server's own log.

const LEVELS: Record<LogLevel, LogLevelName> = {
  [LogLevel.UNSPECIFIED]: "info",
  [LogLevel.DEBUG]: "debug",
  [LogLevel.INFO]: "info",
  [LogLevel.WARNING]: "warning",
  [LogLevel.ERROR]: "error",
};
const PINO = { debug: "debug", info: "info", warning: "warn", error: "error" } as const;

/** A Log frame from a worker, with the call that wrote it when it is still running. */
export function workerLine(core: PoolCore, worker: Worker, frame: Log, call: ActiveCall | undefined): void {
  const request = call?.request;
  const sessionId = request?.sessionId ? sessionIdOfKey(request.sessionId, request.tenant) : "";
  const level = LEVELS[frame.level] ?? "info";
  core.logs?.write({
    level,
    message: frame.message,
    source: sourceOf(frame),
    logger: frame.logger,
    pool: core.name,
    workerId: worker.id,
    workerPid: worker.pid,
    sessionId,
    requestId: request?.requestId ?? "",
    tool: request?.tool ?? "",
    // A line outside any call may carry any tenant's data: operators only.
    tenant: request ? request.tenant : null,
  });
  const fields = { worker: worker.id, pid: worker.pid, logger: frame.logger, tool: request?.tool, requestId: request?.requestId, session: sessionId || undefined };
  core.logger[PINO[level]](fields, frame.message);
}

/** A line a worker or template process wrote outside the link (before it connected, or a native crash). */
export function processLine(core: PoolCore, workerId: string, line: string, stream: "stdout" | "stderr"): void {
  if (line.trim() === "") return;
  core.logs?.write({
    level: stream === "stderr" ? "warning" : "info", message: line, source: stream, logger: stream, pool: core.name,
    workerId, workerPid: core.workers.get(workerId)?.pid ?? 0, sessionId: "", requestId: "", tool: "", tenant: null,
  });
  core.logger[stream === "stderr" ? "warn" : "info"]({ worker: workerId, stream }, line);
}

/** Older workers do not say how a line was written; their logger names stdout and stderr. */
function sourceOf(frame: Log): LogSourceName {
  switch (frame.source) {
    case LogSource.STDOUT:
      return "stdout";
    case LogSource.STDERR:
      return "stderr";
    case LogSource.LOGGING:
      return "logging";
    default:
      return frame.logger === "stdout" || frame.logger === "stderr" ? frame.logger : "logging";
  }
}
