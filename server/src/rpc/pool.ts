import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  CreateSessionResponseSchema,
  DeleteSessionResponseSchema,
  DeleteVariableResponseSchema,
  type ExecuteStreamResponse,
  ExecuteStreamResponseSchema,
  GetPoolStatsResponseSchema,
  GetSessionResponseSchema,
  GetVariableResponseSchema,
  ListPoolsResponseSchema,
  ListSessionsResponseSchema,
  ListToolsResponseSchema,
  ListVariablesResponseSchema,
  type PoolService,
  SetVariableResponseSchema,
  VariableChange,
  WatchVariablesResponseSchema,
} from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { type LogHub, logViewer } from "../logs/index.js";
import type { SessionRouter } from "../fleet/index.js";
import { page } from "../paging.js";
import { SERVER_VERSION } from "../version.js";
import type { PoolRegistry } from "../pool/index.js";
import { callOptions, domainSignal } from "./call-options.js";
import { executeMany } from "./execute-many.js";
import { logBatchToProto, minLevelFromProto } from "./logs-convert.js";
import { affinityFromProto, doneToProto, eventToProto, resultToProto, sessionToProto, statsToProto, toValue } from "./pool-convert.js";
import { requestIdKey, rpcSpanKey, tenantOf } from "./context.js";
import { startExecute } from "./execute-call.js";
import { callArgs, durationMs, required, requiredMessage } from "./validate.js";

export interface PoolServiceOptions {
  /** Unanswered ExecuteMany requests read per stream before backpressure. */
  maxPipelined: number;
  /** What workers printed and logged (WatchLogs). */
  logs: LogHub;
  /** API key names that see every log record (`logs.operators`). */
  logOperators: readonly string[];
  /** Appended to the session ids this server generates: its replica's tag (see fleet/ids.ts). */
  sessionIdSuffix?: string;
  /** Where ExecuteMany sends calls in sessions other replicas own (the other session methods are routed by rpc/session-routing.ts). */
  router?: SessionRouter;
}

/** ExecuteStreamRequest.max_chunks_per_message is capped here, so a message stays small. */
const MAX_CHUNKS_PER_MESSAGE = 1024;
const utf8 = new TextDecoder();
const textOf = (json: Uint8Array) => utf8.decode(json);

/** Thin PoolService handlers over the pool engine. */
export function poolService(pools: PoolRegistry, options: PoolServiceOptions): Partial<ServiceImpl<typeof PoolService>> {
  const sessionPool = (sessionId: string, ctx: HandlerContext) => pools.session(required(sessionId, "session_id"), tenantOf(ctx)).pool;

  return {
    async execute(req, ctx) {
      const abort = domainSignal(ctx.signal);
      try {
        const result = await startExecute(pools, req, {
          owner: tenantOf(ctx),
          signal: abort.signal,
          requestId: ctx.values.get(requestIdKey),
          timeoutMs: ctx.timeoutMs(),
          trace: ctx.values.get(rpcSpanKey),
        });
        return resultToProto(result, req.resultAsJson);
      } finally {
        abort.release();
      }
    },

    async *executeStream(req, ctx) {
      const pool = pools.get(req.pool);
      const abort = domainSignal(ctx.signal);
      try {
        const { args, argsJson } = callArgs(req);
        const stream = pool.executeStream(required(req.tool, "tool"), args, callOptions(ctx, req, durationMs(req.timeout, "timeout"), abort.signal, argsJson));
        const batch = Math.min(req.maxChunksPerMessage, MAX_CHUNKS_PER_MESSAGE);
        // chunk_batch is the text form: with result_as_json a chunk goes in one even alone.
        const asText = batch > 1 || req.resultAsJson;
        for await (const event of stream) {
          if (asText && event.kind === "chunk") {
            // The chunks already here go in one message, as the worker's JSON text.
            const json = [textOf(event.json)];
            if (batch > 1) for (const next of stream.takeReady(batch - 1)) json.push(textOf(next.json));
            yield create(ExecuteStreamResponseSchema, { event: { case: "chunkBatch", value: { json } } });
            continue;
          }
          const message: ExecuteStreamResponse = event.kind === "chunk"
            ? create(ExecuteStreamResponseSchema, { event: { case: "chunk", value: toValue(event.value) } })
            : event.kind === "binary"
              ? create(ExecuteStreamResponseSchema, { event: { case: "binaryChunk", value: event.value } })
              : create(ExecuteStreamResponseSchema, { event: { case: "done", value: doneToProto(event, req.resultAsJson) } });
          yield message;
        }
      } finally {
        abort.release();
      }
    },

    executeMany(requests, ctx) {
      return executeMany(pools, requests, ctx, options.maxPipelined, options.router);
    },

    createSession(req, ctx) {
      const pool = pools.get(req.pool);
      const ttlMs = durationMs(req.ttl, "ttl");
      const session = pool.createSession({
        owner: tenantOf(ctx),
        affinity: affinityFromProto(req.affinity),
        labels: req.labels,
        ttlMs,
        sessionId: req.sessionId || undefined,
        idSuffix: options.sessionIdSuffix,
      });
      return create(CreateSessionResponseSchema, { session: sessionToProto(session) });
    },

    getSession(req, ctx) {
      const { session } = pools.session(required(req.sessionId, "session_id"), tenantOf(ctx));
      return create(GetSessionResponseSchema, { session: sessionToProto(session) });
    },

    listSessions(req, ctx) {
      const targets = req.pool ? [pools.get(req.pool)] : pools.list();
      // Sessions of several pools are merged newest first; the token names the last one sent.
      const all = targets.flatMap((p) => p.sessionsOf(tenantOf(ctx))).sort((a, b) => b.createdAt - a.createdAt);
      const { items, nextPageToken } = page(all, req.pageSize, req.pageToken, "session");
      return create(ListSessionsResponseSchema, { sessions: items.map(sessionToProto), nextPageToken });
    },

    deleteSession(req, ctx) {
      sessionPool(req.sessionId, ctx).deleteSession(req.sessionId, tenantOf(ctx));
      return create(DeleteSessionResponseSchema);
    },

    setVariable(req, ctx) {
      const pool = sessionPool(req.sessionId, ctx);
      const variable = pool.setVariable(req.sessionId, {
        name: required(req.name, "name"),
        value: requiredMessage(req.value, "value"),
        type: req.type,
        constraints: req.constraints,
        description: req.description,
        expectedVersion: req.expectedVersion,
      }, tenantOf(ctx));
      return create(SetVariableResponseSchema, { variable });
    },

    getVariable(req, ctx) {
      const pool = sessionPool(req.sessionId, ctx);
      return create(GetVariableResponseSchema, { variable: pool.getVariable(req.sessionId, required(req.name, "name"), tenantOf(ctx)) });
    },

    listVariables(req, ctx) {
      const pool = sessionPool(req.sessionId, ctx);
      return create(ListVariablesResponseSchema, { variables: pool.listVariables(req.sessionId, tenantOf(ctx)) });
    },

    deleteVariable(req, ctx) {
      const pool = sessionPool(req.sessionId, ctx);
      pool.deleteVariable(req.sessionId, required(req.name, "name"), tenantOf(ctx), req.expectedVersion);
      return create(DeleteVariableResponseSchema);
    },

    async *watchVariables(req, ctx) {
      const pool = sessionPool(req.sessionId, ctx);
      const changes = pool.watchVariables(req.sessionId, { names: req.names, includeInitial: req.includeInitial, signal: ctx.signal, owner: tenantOf(ctx) });
      for await (const change of changes) {
        yield create(WatchVariablesResponseSchema, {
          change: change.change === "set" ? VariableChange.SET : VariableChange.DELETED,
          variable: change.variable,
        });
      }
    },

    listTools(req) {
      return create(ListToolsResponseSchema, { tools: pools.get(req.pool).tools() });
    },

    listPools() {
      return create(ListPoolsResponseSchema, {
        pools: pools.list().map((pool) => {
          const stats = pool.stats();
          return {
            name: pool.name,
            adapter: pool.config.adapter,
            size: pool.config.maxSize,
            minSize: pool.config.minSize,
            maxSize: pool.config.maxSize,
            concurrency: pool.config.concurrency,
            startMode: pool.startModeInUse,
            ready: stats.workersReady + stats.workersBusy > 0,
            workers: stats.workersReady + stats.workersBusy,
            isDefault: pool.name === pools.defaultPool,
          };
        }),
        serverVersion: SERVER_VERSION,
      });
    },

    getPoolStats(req) {
      return create(GetPoolStatsResponseSchema, { stats: statsToProto(pools.get(req.pool).stats()) });
    },

    async *watchPool(req, ctx) {
      const pool = pools.get(req.pool);
      for await (const event of pool.watch(ctx.signal)) yield eventToProto(event);
    },

    async *watchLogs(req, ctx) {
      if (req.pool !== "") pools.get(req.pool);
      const batches = options.logs.watch({
        filter: { pool: req.pool, workerId: req.workerId, sessionId: req.sessionId, requestId: req.requestId, minLevel: minLevelFromProto(req.minLevel) },
        viewer: logViewer(tenantOf(ctx), options.logOperators),
        follow: req.follow,
        tail: req.tail,
        signal: ctx.signal,
      });
      for await (const batch of batches) yield logBatchToProto(batch);
    },
  };
}
