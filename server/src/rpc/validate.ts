import type { JsonObject } from "@bufbuild/protobuf";
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

/**
 * A call's arguments, from `args` or `args_json` (UTF-8 JSON text of an
 * object; set one or neither). The text comes back too, to reach Python as
 * sent: a Struct has only doubles, JSON text keeps 5 an int and 5.0 a float.
 */
export function callArgs(req: { args?: JsonObject; argsJson: string }): { args: JsonObject; argsJson: Uint8Array | undefined } {
  if (req.argsJson === "") return { args: req.args ?? {}, argsJson: undefined };
  if (req.args !== undefined) throw new PyfleetError("invalid_argument", "set args or args_json, not both");
  let args: unknown;
  try {
    args = JSON.parse(req.argsJson);
  } catch (e) {
    throw new PyfleetError("invalid_argument", `args_json is not valid JSON (${(e as Error).message}); send a JSON object as UTF-8 text`);
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    throw new PyfleetError("invalid_argument", "args_json must be a JSON object of keyword arguments, like {\"a\": 1}");
  }
  return { args: args as JsonObject, argsJson: Buffer.from(req.argsJson) };
}
