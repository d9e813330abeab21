import { Code, ConnectError } from "@connectrpc/connect";
import { ToolErrorSchema } from "./gen/pyfleet/pool/v1/error_pb.js";

/** Status code names, as the server's error table uses them. */
export type ErrorCode =
  | "canceled" | "unknown" | "invalid_argument" | "deadline_exceeded" | "not_found" | "already_exists"
  | "permission_denied" | "resource_exhausted" | "failed_precondition" | "aborted" | "out_of_range"
  | "unimplemented" | "internal" | "unavailable" | "data_loss" | "unauthenticated";

/** A Python exception raised by a tool, as the worker reported it. */
export interface ToolError {
  type: string;
  message: string;
  traceback: string;
  tool: string;
  workerId: string;
}

export function codeName(code: Code): ErrorCode {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase() as ErrorCode;
}

/** The one error every helper throws: a status code, a message, and the Python detail when a tool raised. */
export class PyfleetError extends Error {
  override readonly name = "PyfleetError";

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Set when a Python tool raised: its type, message and traceback. */
    readonly toolError?: ToolError,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The gRPC status number of `code`. */
  get status(): number {
    return Object.values(Code).find((c) => typeof c === "number" && codeName(c) === this.code) as number;
  }

  /** An error from a gRPC status number, as ExecuteMany reports each call's failure. */
  static fromStatus(status: number, message: string, toolError?: ToolError): PyfleetError {
    return new PyfleetError(Code[status] === undefined ? "unknown" : codeName(status as Code), message, toolError);
  }

  /** Wraps whatever a call threw (a ConnectError, an abort, ...). */
  static from(e: unknown): PyfleetError {
    if (e instanceof PyfleetError) return e;
    const err = ConnectError.from(e);
    const [detail] = err.findDetails(ToolErrorSchema);
    const toolError = detail && { type: detail.type, message: detail.message, traceback: detail.traceback, tool: detail.tool, workerId: detail.workerId };
    return new PyfleetError(codeName(err.code), err.rawMessage, toolError, { cause: e });
  }
}

/** Runs `fn`, turning any failure into a PyfleetError. */
export async function wrap<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw PyfleetError.from(e);
  }
}
