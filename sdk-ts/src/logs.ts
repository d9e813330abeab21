import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import type { ComputeLogLine as ProtoComputeLogLine, ComputeService } from "./gen/pyfleet/compute/v1/compute_pb.js";
import { LogLevel, LogSource, type LogRecord as ProtoLogRecord, type PoolService } from "./gen/pyfleet/pool/v1/pool_pb.js";
import { PyfleetError, stoppedByCaller } from "./errors.js";

export type LogLevelName = "debug" | "info" | "warning" | "error";
export type LogSourceName = "stdout" | "stderr" | "logging";

/** A line a worker printed, or a Python logging record (see docs/logs.md). */
export interface LogRecord {
  time: Date;
  level: LogLevelName;
  message: string;
  source: LogSourceName;
  /** The Python logger's name, or "stdout"/"stderr". */
  logger: string;
  pool: string;
  workerId: string;
  workerPid: number;
  /** The session of the call that wrote it; "" outside a session. */
  sessionId: string;
  /** The request id of the call that wrote it; "" outside a call. */
  requestId: string;
  /** The tool that was running; "" outside a call. */
  tool: string;
  /** Position in the server's log, increasing by one per record. */
  seq: number;
  /** Records this reader lost just before this one because it read too slowly. */
  droppedBefore: number;
}

export interface WatchLogsOptions {
  /** Only this pool; default every pool. */
  pool?: string;
  /** Only this worker. */
  worker?: string;
  /** Only this session's calls. */
  session?: string | { id: string };
  /** Only this call (its request id). */
  requestId?: string;
  /** This level and above. */
  level?: LogLevelName;
  /** After the held records, wait for new ones until `signal` aborts. */
  follow?: boolean;
  /** Only the newest `tail` held records (0: none). */
  tail?: number;
  signal?: AbortSignal;
}

/** A line of a compute's machine log. */
export interface ComputeLogLine {
  text: string;
  /** When the machine wrote it, if the provider says. */
  time: Date | undefined;
  /** "container", "system" or "", as the provider names it. */
  source: string;
}

const LEVELS: Record<LogLevelName, LogLevel> = { debug: LogLevel.DEBUG, info: LogLevel.INFO, warning: LogLevel.WARNING, error: LogLevel.ERROR };
const LEVEL_NAMES = new Map<LogLevel, LogLevelName>(Object.entries(LEVELS).map(([k, v]) => [v, k as LogLevelName]));
const SOURCE_NAMES = new Map<LogSource, LogSourceName>([[LogSource.STDOUT, "stdout"], [LogSource.STDERR, "stderr"], [LogSource.LOGGING, "logging"]]);

function recordFromProto(r: ProtoLogRecord, droppedBefore: number): LogRecord {
  return {
    time: r.time ? timestampDate(r.time) : new Date(0),
    level: LEVEL_NAMES.get(r.level) ?? "info",
    message: r.message,
    source: SOURCE_NAMES.get(r.source) ?? "logging",
    logger: r.logger,
    pool: r.pool,
    workerId: r.workerId,
    workerPid: r.workerPid,
    sessionId: r.sessionId,
    requestId: r.requestId,
    tool: r.tool,
    seq: Number(r.seq),
    droppedBefore,
  };
}

/** WatchLogs as records; ends quietly when the caller's signal aborts. */
export async function* watchLogs(rpc: Client<typeof PoolService>, options: WatchLogsOptions): AsyncGenerator<LogRecord> {
  if (options.level !== undefined && !(options.level in LEVELS)) {
    throw new PyfleetError("invalid_argument", `level must be debug, info, warning or error (got "${options.level}")`);
  }
  const session = typeof options.session === "string" ? options.session : options.session?.id ?? "";
  try {
    const messages = rpc.watchLogs({
      pool: options.pool ?? "",
      workerId: options.worker ?? "",
      sessionId: session,
      requestId: options.requestId ?? "",
      minLevel: options.level ? LEVELS[options.level] : LogLevel.UNSPECIFIED,
      follow: options.follow ?? false,
      tail: options.tail,
    }, { signal: options.signal });
    for await (const message of messages) {
      let dropped = Number(message.dropped);
      for (const r of message.records) {
        yield recordFromProto(r, dropped);
        dropped = 0;
      }
    }
  } catch (e) {
    if (!stoppedByCaller(e, options.signal)) throw e;
  }
}

function lineFromProto(l: ProtoComputeLogLine): ComputeLogLine {
  return { text: l.text, time: l.time ? timestampDate(l.time) : undefined, source: l.source };
}

/** WatchComputeLogs as lines; ends quietly when the caller's signal aborts. */
export async function* watchComputeLogs(rpc: Client<typeof ComputeService>, id: string, options: { follow?: boolean; tail?: number; signal?: AbortSignal }): AsyncGenerator<ComputeLogLine> {
  try {
    for await (const message of rpc.watchComputeLogs({ computeId: id, follow: options.follow ?? false, tail: options.tail }, { signal: options.signal })) {
      for (const line of message.lines) yield lineFromProto(line);
    }
  } catch (e) {
    if (!stoppedByCaller(e, options.signal)) throw e;
  }
}
