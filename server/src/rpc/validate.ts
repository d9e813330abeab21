import { type Duration, durationMs as toMs } from "@bufbuild/protobuf/wkt";
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
  const ms = toMs(value);
  if (ms < 0) throw new PyfleetError("invalid_argument", `${field} must not be negative`);
  return ms;
}

/** The earliest of several optional time limits. */
export function earliest(...limits: (number | undefined)[]): number | undefined {
  const set = limits.filter((l): l is number => l !== undefined && l > 0);
  return set.length > 0 ? Math.min(...set) : undefined;
}
