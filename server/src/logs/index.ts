export { LogHub, type LogBatch, type LogHubOptions, type WatchLogsOptions } from "./hub.js";
export { logViewer, visibleTo, type LogFilter, type LogViewer } from "./filter.js";
export { LOG_LEVELS, type LogInput, type LogLevelName, type LogRecord, type LogSink, type LogSourceName } from "./record.js";
