import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { LogLevel, type LogRecord as ProtoLogRecord, LogRecordSchema, LogSource, type WatchLogsResponse, WatchLogsResponseSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { PyfleetError } from "../errors.js";
import type { LogBatch, LogLevelName, LogRecord, LogSourceName } from "../logs/index.js";

/** Translations between log hub records and pyfleet.pool.v1 messages. */

const LEVEL_TO_PROTO: Record<LogLevelName, LogLevel> = {
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warning: LogLevel.WARNING,
  error: LogLevel.ERROR,
};
const SOURCE_TO_PROTO: Record<LogSourceName, LogSource> = {
  stdout: LogSource.STDOUT,
  stderr: LogSource.STDERR,
  logging: LogSource.LOGGING,
};

/** A filter's minimum level; UNSPECIFIED is none. */
export function minLevelFromProto(level: LogLevel): LogLevelName | undefined {
  if (level === LogLevel.UNSPECIFIED) return undefined;
  const name = (Object.keys(LEVEL_TO_PROTO) as LogLevelName[]).find((k) => LEVEL_TO_PROTO[k] === level);
  if (!name) throw new PyfleetError("invalid_argument", `min_level ${level} is no LogLevel; use LOG_LEVEL_DEBUG, _INFO, _WARNING or _ERROR`);
  return name;
}

export function logRecordToProto(r: LogRecord): ProtoLogRecord {
  return create(LogRecordSchema, {
    time: timestampFromMs(r.time),
    level: LEVEL_TO_PROTO[r.level],
    message: r.message,
    source: SOURCE_TO_PROTO[r.source],
    logger: r.logger,
    pool: r.pool,
    workerId: r.workerId,
    workerPid: r.workerPid,
    sessionId: r.sessionId,
    requestId: r.requestId,
    tool: r.tool,
    seq: BigInt(r.seq),
  });
}

export function logBatchToProto(batch: LogBatch): WatchLogsResponse {
  return create(WatchLogsResponseSchema, { records: batch.records.map(logRecordToProto), dropped: BigInt(batch.dropped) });
}
