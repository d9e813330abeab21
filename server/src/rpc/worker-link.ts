import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { AttachResponseSchema, type WorkerLinkService } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import type { WorkerTokens } from "../auth/index.js";
import { PyfleetError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { type PoolRegistry, StreamLink } from "../pool/index.js";

const PROTOCOL_VERSION = 1;

/** WorkerLinkService: remote workers dial in and serve a pool like local ones. */
export function workerLinkService(pools: PoolRegistry, tokens: WorkerTokens, logger: Logger): Partial<ServiceImpl<typeof WorkerLinkService>> {
  return {
    async *attach(requests, ctx) {
      const incoming = requests[Symbol.asyncIterator]();
      const first = await incoming.next();
      const hello = !first.done && first.value.frame?.frame.case === "hello" ? first.value.frame.frame.value : undefined;
      if (!hello) throw new PyfleetError("invalid_argument", "the first message must carry a Hello frame");
      if (hello.protocolVersion !== PROTOCOL_VERSION) {
        throw new PyfleetError("failed_precondition", `worker speaks link protocol ${hello.protocolVersion}; this server speaks ${PROTOCOL_VERSION}: upgrade pyfleet_bridge`);
      }
      const grant = tokens.match(hello.token);
      if (!grant) throw new PyfleetError("unauthenticated", "unknown worker token; use a token from the server's auth.workerTokens");
      const pool = pools.get(grant.pool ?? hello.pool);

      const link = new StreamLink();
      const worker = pool.attachRemote(hello, link, grant.group);
      logger.info({ pool: pool.name, worker: worker.id, host: hello.hostname, pid: hello.pid }, `remote worker ${worker.id} attached from ${hello.hostname || "unknown host"}`);
      ctx.signal.addEventListener("abort", () => link.close("the worker's stream ended"), { once: true });
      void (async () => {
        try {
          for (;;) {
            const next = await incoming.next();
            if (next.done) break;
            if (next.value.frame) link.deliver(next.value.frame);
          }
          link.close("the worker closed its stream");
        } catch (e) {
          link.close(`the worker's stream broke: ${(e as Error).message}`);
        }
      })();
      for await (const frame of link.outgoing()) yield create(AttachResponseSchema, { frame });
    },
  };
}
