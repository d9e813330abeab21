/**
 * The one error type of the server. Domain code throws it anywhere with a
 * code and a message that says what happened and what to do; the RPC layer
 * maps it once to a Connect error.
 */
export type ErrorCode =
  | "canceled"
  | "unknown"
  | "invalid_argument"
  | "deadline_exceeded"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "resource_exhausted"
  | "failed_precondition"
  | "aborted"
  | "out_of_range"
  | "unimplemented"
  | "internal"
  | "unavailable"
  | "data_loss"
  | "unauthenticated";

/** A Python exception, as the worker reported it. */
export interface ToolErrorDetail {
  type: string;
  message: string;
  traceback: string;
  tool: string;
  workerId: string;
}

export class PyfleetError extends Error {
  override readonly name = "PyfleetError";

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly toolError?: ToolErrorDetail,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isPyfleetError(e: unknown): e is PyfleetError {
  return e instanceof PyfleetError;
}

/** gRPC status numbers, for places that carry a code inside a message (ExecuteMany, worker callbacks). */
export const STATUS_NUMBERS: Record<ErrorCode, number> = {
  canceled: 1,
  unknown: 2,
  invalid_argument: 3,
  deadline_exceeded: 4,
  not_found: 5,
  already_exists: 6,
  permission_denied: 7,
  resource_exhausted: 8,
  failed_precondition: 9,
  aborted: 10,
  out_of_range: 11,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  data_loss: 15,
  unauthenticated: 16,
};
