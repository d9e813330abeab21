export { logLevels, type LogLevel } from "./levels.js";
export { createLogger, type Logger } from "./logger.js";
