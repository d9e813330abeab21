import { pino, type Logger } from "pino";
import type { LogLevel } from "./levels.js";

export type { Logger } from "pino";

/** Header and field names whose values never reach a log line. */
const REDACT = [
  "authorization",
  "apiKey",
  "token",
  "*.authorization",
  "*.apiKey",
  "*.token",
  "headers.authorization",
  'headers["x-api-key"]',
];

/** Structured JSON lines on stdout, with secrets redacted. */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { service: "pyfleet" }, redact: { paths: REDACT, censor: "[redacted]" } }, destination as never);
}
