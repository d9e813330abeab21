import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ToolErrorSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/error_pb";
import { PyfleetError, statusCode } from "../errors.js";

/** Translates a domain error into a Connect error, with a ToolError detail for Python exceptions. */
function toConnectError(e: PyfleetError): ConnectError {
  const err = new ConnectError(e.message, statusCode(e.code), undefined, undefined, e);
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
