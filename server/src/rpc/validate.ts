import type { Duration } from "@bufbuild/protobuf/wkt";
import { PyfleetError } from "../errors.js";

/** Returns `value`, or throws INVALID_ARGUMENT naming the missing field. */
export function required(value: string, field: string): string {
  if (value === "") throw new PyfleetError("invalid_argument", `${field} is required`);
  return value;
}

/** A required message field. */
export function requiredMessage<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new PyfleetError("invalid_argument", `${field} is required`);
  return value;
}

/** A Duration in milliseconds, or undefined when unset; negative durations are INVALID_ARGUMENT. */
export function durationMs(value: Duration | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Number(value.seconds) * 1000 + Math.floor(value.nanos / 1e6);
  if (ms < 0 || value.nanos < 0) throw new PyfleetError("invalid_argument", `${field} must not be negative`);
  return ms;
}
