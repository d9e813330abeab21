// Baseline: a bare Connect server on pyfleet's own listener code with no pool:
// Execute answers with its arguments. What the server costs without Python.
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ExecuteResponseSchema, PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { listen, type RequestHandler } from "../../server/src/http/listener.js";
import { toValue } from "../../server/src/rpc/pool-convert.js";

const connect = connectNodeAdapter({
  routes: (router) => router.service(PoolService, {
    execute: (req) => create(ExecuteResponseSchema, { result: toValue(req.args ?? {}) }),
  }),
});
const handler: RequestHandler = (req, res) => connect(req as never, res as never);
const listener = await listen({ host: "127.0.0.1", port: 0, handler, idleTimeoutMs: 120_000 });
process.stdout.write(`${JSON.stringify({ url: listener.url })}\n`);
process.on("SIGTERM", () => void listener.close(1_000).then(() => process.exit(0)));
