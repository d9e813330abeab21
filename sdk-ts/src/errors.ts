import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { ToolErrorSchema } from "./gen/pyfleet/pool/v1/error_pb.js";

/**
 * pyfleet's status vocabulary, the one table: each code's name (as errors,
 * logs, metrics and the Python SDK spell it) and its gRPC status number
 * (Connect's `Code`). The server uses it too; the Python SDK's
 * `pyfleet/_codes.py` (client) and `pyfleet_bridge/_codes.py` (worker runtime)
 * mirror it, and tests compare them.
 */
export const STATUS_CODES = {
  canceled: Code.Canceled,
  unknown: Code.Unknown,
  invalid_argument: Code.InvalidArgument,
  deadline_exceeded: Code.DeadlineExceeded,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  permission_denied: Code.PermissionDenied,
  resource_exhausted: Code.ResourceExhausted,
  failed_precondition: Code.FailedPrecondition,
  aborted: Code.Aborted,
  out_of_range: Code.OutOfRange,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
  unavailable: Code.Unavailable,
  data_loss: Code.DataLoss,
  unauthenticated: Code.Unauthenticated,
} as const satisfies Record<string, Code>;

/** A status code name: "not_found", "deadline_exceeded", ... */
export type ErrorCode = keyof typeof STATUS_CODES;

const NAMES = new Map<number, ErrorCode>(Object.entries(STATUS_CODES).map(([name, status]) => [status, name as ErrorCode]));

/** The name of a gRPC status number (a Connect `Code`); "unknown" for a number outside the table. */
export function codeName(status: Code | number): ErrorCode {
  return NAMES.get(status) ?? "unknown";
}

/** The gRPC status number (Connect `Code`) of a code name. */
export function statusCode(code: ErrorCode): Code {
  return STATUS_CODES[code];
}

/** A Python exception raised by a tool, as the worker reported it. */
export interface ToolError {
  type: string;
  message: string;
  traceback: string;
  tool: string;
  workerId: string;
}

/**
 * The one error type of pyfleet: a status code, a message that says what
 * happened and what to do, and the Python detail when a tool raised. The SDK
 * throws it from every method; the server throws it anywhere and maps it to
 * a Connect error once, at its edge.
 */
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
    return STATUS_CODES[this.code];
  }

  /** An error from a gRPC status number, as ExecuteMany reports each call's failure. */
  static fromStatus(status: number, message: string, toolError?: ToolError): PyfleetError {
    return new PyfleetError(codeName(status), message, toolError);
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

/** A watch that the caller's own signal stopped ends quietly, not with an error. */
export function stoppedByCaller(e: unknown, signal: AbortSignal | undefined): boolean {
  return e instanceof PyfleetError && e.code === "canceled" && signal?.aborted === true;
}

/**
 * The one place the SDK turns failures into PyfleetError: a transport whose
 * calls, and the messages of its streams, fail only with PyfleetError. Every
 * client the SDK builds goes through it, whatever transport it was given.
 */
export function withPyfleetErrors(transport: Transport): Transport {
  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      try {
        return await transport.unary(method, signal, timeoutMs, header, input, contextValues);
      } catch (e) {
        throw PyfleetError.from(e);
      }
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      let res;
      try {
        res = await transport.stream(method, signal, timeoutMs, header, input, contextValues);
      } catch (e) {
        throw PyfleetError.from(e);
      }
      const messages = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* messages;
          } catch (e) {
            throw PyfleetError.from(e);
          }
        })(),
      };
    },
  };
}
