import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { Affinity, type PoolService } from "./gen/pyfleet/pool/v1/pool_pb.js";
import type { CallOptions, CallResult, StreamSummary, ToolValue } from "./calls.js";
import { PyfleetError, stoppedByCaller } from "./errors.js";
import { executeMany, type ManyRequest, type ManyResult, sessionId } from "./many.js";
import { callInfoFromProto, eventFromProto, type PoolEvent, type PoolInfo, type PoolStats, poolInfoFromProto, resultValue, statsFromProto, type ToolInfo, toolFromProto } from "./pool-info.js";
import { Session, type SessionOptions } from "./session.js";
import { valueToJson } from "./values.js";

/** Chunks the server may pack in one stream message (ExecuteStreamRequest.max_chunks_per_message). */
const CHUNKS_PER_MESSAGE = 256;

const AFFINITY = { hint: Affinity.HINT, strict_queue: Affinity.STRICT_QUEUE, strict_fail_fast: Affinity.STRICT_FAIL_FAST } as const;

/** Calls to one pool ("" = the server's default pool). */
export class PoolClient {
  constructor(
    private readonly rpc: Client<typeof PoolService>,
    readonly name: string,
    /** Whether the transport can carry bidi streams (ExecuteMany). */
    private readonly bidi: boolean,
  ) {}

  /** Runs a tool and returns its value. */
  async execute(tool: string, args: JsonObject = {}, options: CallOptions = {}): Promise<ToolValue> {
    return (await this.call(tool, args, options)).value;
  }

  /** Runs a tool and returns its value with where and how it ran. */
  async call(tool: string, args: JsonObject = {}, options: CallOptions = {}): Promise<CallResult> {
    const res = await this.rpc.execute({
      pool: this.name,
      tool,
      // JSON text both ways: numbers keep their type (a Struct has only doubles), and it costs less.
      argsJson: JSON.stringify(args),
      resultAsJson: true,
      sessionId: sessionId(options.session),
      idempotent: options.idempotent ?? false,
      binaryArgs: options.binaryArgs ?? {},
    }, { signal: options.signal, timeoutMs: options.timeoutMs });
    return { value: resultValue(res), info: callInfoFromProto(res.info) };
  }

  /**
   * Streams a generator tool's chunks. Leaving the loop early (break, return,
   * throw) cancels the call and stops the Python generator. The generator's
   * return value and the chunk count are the iterator's return value.
   */
  async *stream(tool: string, args: JsonObject = {}, options: CallOptions = {}): AsyncGenerator<ToolValue, StreamSummary> {
    const abort = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, abort.signal]) : abort.signal;
    try {
      const messages = this.rpc.executeStream({
        pool: this.name,
        tool,
        argsJson: JSON.stringify(args),
        resultAsJson: true,
        sessionId: sessionId(options.session),
        binaryArgs: options.binaryArgs ?? {},
        maxChunksPerMessage: CHUNKS_PER_MESSAGE,
      }, { signal, timeoutMs: options.timeoutMs });
      for await (const message of messages) {
        const event = message.event;
        if (event.case === "chunkBatch") {
          for (const json of event.value.json) yield JSON.parse(json) as JsonValue;
        } else if (event.case === "chunk") yield valueToJson(event.value);
        else if (event.case === "binaryChunk") yield event.value;
        else if (event.case === "done") {
          const done = event.value;
          // An older server answers with a Value.
          const result = done.resultJson !== "" ? JSON.parse(done.resultJson) as JsonValue : valueToJson(done.result);
          return { chunks: Number(done.chunks), result, info: callInfoFromProto(done.info) };
        }
      }
      throw new PyfleetError("internal", "the stream ended without its done message");
    } finally {
      abort.abort();
    }
  }

  /**
   * Pipelines many calls over one bidi stream (Node transports over HTTP/2).
   * Results come back as they finish, in any order; a failed call yields an
   * error result and the others go on.
   */
  executeMany(requests: Iterable<ManyRequest> | AsyncIterable<ManyRequest>, options: { signal?: AbortSignal } = {}): AsyncGenerator<ManyResult> {
    if (!this.bidi) {
      throw new PyfleetError("unimplemented", "executeMany needs a bidi stream, which fetch cannot carry; use createClient from \"@pyfleet/sdk/node\"");
    }
    return executeMany(this.rpc, this.name, requests, options.signal);
  }

  /** Opens a session pinned to one worker; close it with `close()` or `await using`. */
  async session(options: SessionOptions = {}): Promise<Session> {
    const res = await this.rpc.createSession({
      pool: this.name,
      affinity: AFFINITY[options.affinity ?? "hint"],
      sessionId: options.id ?? "",
      labels: options.labels ?? {},
      ttl: options.ttlMs !== undefined ? durationFromMs(options.ttlMs) : undefined,
    });
    return new Session(this.rpc, this, res.session!);
  }

  /** A handle on an existing session. */
  async openSession(id: string): Promise<Session> {
    const res = await this.rpc.getSession({ sessionId: id });
    return new Session(this.rpc, this, res.session!);
  }

  /** The pool's tools and their parameters. */
  async tools(): Promise<ToolInfo[]> {
    return (await this.rpc.listTools({ pool: this.name })).tools.map(toolFromProto);
  }

  /** The pool's counters and gauges. */
  async stats(): Promise<PoolStats> {
    return statsFromProto((await this.rpc.getPoolStats({ pool: this.name })).stats!);
  }

  /** Every pool of the server. */
  async list(): Promise<PoolInfo[]> {
    return (await this.rpc.listPools({})).pools.map(poolInfoFromProto);
  }

  /** The pool's events (workers starting, dying, recycled; sessions re-pinned; saturation) until `signal` aborts. */
  async *watch(options: { signal?: AbortSignal } = {}): AsyncGenerator<PoolEvent> {
    try {
      for await (const e of this.rpc.watchPool({ pool: this.name }, { signal: options.signal })) {
        const event = eventFromProto(e);
        if (event) yield event;
      }
    } catch (e) {
      if (!stoppedByCaller(e, options.signal)) throw e;
    }
  }
}
