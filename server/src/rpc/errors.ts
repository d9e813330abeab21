import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ToolErrorSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/error_pb";
import { type ErrorCode, PyfleetError } from "../errors.js";

const CODES: Record<ErrorCode, Code> = {
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
};

/** The Connect code of a domain error code. */
export function connectCode(code: ErrorCode): Code {
  return CODES[code];
}

/** Translates a domain error into a Connect error, with a ToolError detail for Python exceptions. */
export function toConnectError(e: PyfleetError): ConnectError {
  const err = new ConnectError(e.message, CODES[e.code], undefined, undefined, e);
  if (e.toolError) err.details.push({ desc: ToolErrorSchema, value: create(ToolErrorSchema, e.toolError) });
  return err;
}

/** Maps any error thrown by a handler: PyfleetError by its code; anything unexpected to INTERNAL. */
export function asConnectError(e: unknown): ConnectError {
  if (e instanceof PyfleetError) return toConnectError(e);
  if (e instanceof ConnectError) return e;
  return new ConnectError("internal error; the server log has the details", Code.Internal, undefined, undefined, e);
}

/**
 * The one place domain errors become Connect errors, for unary and
 * streaming handlers alike.
 */
export const errorInterceptor: Interceptor = (next) => async (req) => {
  try {
    const res = await next(req);
    if (!res.stream) return res;
    return {
      ...res,
      message: (async function* () {
        try {
          yield* res.message;
        } catch (e) {
          throw asConnectError(e);
        }
      })(),
    };
  } catch (e) {
    throw asConnectError(e);
  }
};
