import type { BinaryReadOptions } from "@bufbuild/protobuf";
import { PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import type { SecretSet } from "../auth/index.js";
import { HOP_HEADER, type SessionRouter } from "../fleet/index.js";
import { single } from "../http/call-context.js";
import type { ExpressAnswer, ExpressCall, ExpressMethod } from "../http/express.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { PoolRegistry } from "../pool/index.js";
import { authenticate } from "./auth.js";
import { asConnectError } from "./errors.js";
import { type ExecuteFields, startExecute } from "./execute-call.js";
import { executeFromBinary, executeFromJson, executeResponseBinary, executeResponseJson } from "./execute-wire.js";
import { recordRpc, requestIdOf } from "./observe.js";

export interface ExecuteExpressOptions {
  pools: PoolRegistry;
  /** API keys (as the auth interceptor has them). */
  keys: SecretSet<string>;
  logger: Logger;
  metrics: Metrics;
  /** Calls in sessions another replica owns are left to the general path, which forwards them. */
  router?: SessionRouter;
  binaryOptions?: Partial<BinaryReadOptions>;
}

const SERVICE = PoolService.typeName;
const METHOD = `${SERVICE}/Execute`;

/**
 * PoolService.Execute's express lane in the unary front: the same call as
 * the handler in pool.ts (startExecute), with the steps the interceptors
 * take for it done here in the same order: a request id, authentication,
 * the call, then metrics and the log line. The request and response are
 * read and written by execute-wire.ts. Declined (left to connect-es): a
 * message of another shape, and a call in a session this replica does not
 * hold. Install it only with tracing off; traced calls need the trace
 * interceptor.
 */
export function executeExpress(options: ExecuteExpressOptions): ExpressMethod {
  const { pools, keys, logger, metrics, router } = options;

  async function run(req: ExecuteFields, call: ExpressCall, tenant: string, requestId: string, started: number, argsText: Buffer | undefined): Promise<ExpressAnswer> {
    try {
      const result = await startExecute(pools, req, { owner: tenant, signal: call.signal, handle: call.handle, requestId, timeoutMs: call.timeoutMs, argsText });
      const message = call.binary ? executeResponseBinary(result, req.resultAsJson) : Buffer.from(executeResponseJson(result, req.resultAsJson));
      recordRpc(logger, metrics, { method: METHOD, started, requestId, tenant });
      return { message, headers: { "x-request-id": requestId } };
    } catch (e) {
      throw failed(e, requestId, tenant, started);
    }
  }

  function failed(e: unknown, requestId: string, tenant: string, started: number) {
    const error = asConnectError(e);
    recordRpc(logger, metrics, { method: METHOD, started, requestId, tenant, error });
    return error;
  }

  return {
    serve(call) {
      const req = call.binary ? executeFromBinary(call.message, options.binaryOptions) : executeFromJson(call.message);
      if (req === undefined) return undefined;
      // Arguments nested too deep to write back out (JSON.parse takes deeper nesting than
      // JSON.stringify, and protobuf-es's reader refuses it first) are the general path's to refuse.
      let argsText: Buffer | undefined;
      if (req.args !== undefined && req.argsJson === "") {
        try {
          argsText = Buffer.from(JSON.stringify(req.args));
        } catch {
          return undefined;
        }
      }
      const { headers } = call;
      const started = performance.now();
      const requestId = requestIdOf(single(headers["x-request-id"]));
      let tenant: string;
      try {
        tenant = authenticate(keys, SERVICE, single(headers.authorization)) ?? "";
      } catch (e) {
        return Promise.reject(failed(e, requestId, "", started));
      }
      if (router !== undefined && !router.servesHere(req.sessionId, tenant, single(headers[HOP_HEADER]))) return undefined;
      return run(req, call, tenant, requestId, started, argsText);
    },
  };
}
