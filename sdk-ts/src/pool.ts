import type { JsonObject, JsonValue, MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import {
  Affinity,
  type CallInfo as ProtoCallInfo,
  type ExecuteManyRequestSchema,
  type ExecuteManyResponse,
  type ExecuteResponse,
  PoolEventKind,
  type PoolInfo,
  type PoolService,
  type PoolStats,
} from "./gen/pyfleet/pool/v1/pool_pb.js";
import type { ToolSpec } from "./gen/pyfleet/pool/v1/tool_pb.js";
import { PyfleetError, stoppedByCaller } from "./errors.js";
import { Session, type SessionOptions } from "./session.js";
import { valueToJson } from "./values.js";
import type { CallInfo, CallOptions, CallResult, StreamSummary, ToolValue } from "./calls.js";

export type { CallInfo, CallOptions, CallResult, StreamSummary, ToolValue } from "./calls.js";

/** Chunks the server may pack in one stream message (ExecuteStreamRequest.max_chunks_per_message). */
const CHUNKS_PER_MESSAGE = 256;
/** Calls sent in one ExecuteMany message, and answers the server may pack in one (max_answers_per_message). */
const CALLS_PER_MESSAGE = 256;

export interface ManyRequest {
  /** Your id for the call; echoed in its result. Default: its index as a string. */
  id?: string;
  tool: string;
  args?: JsonObject;
  session?: string | Session;
  timeoutMs?: number;
  idempotent?: boolean;
}

export type ManyResult = { id: string; ok: true; value: ToolValue; info: CallInfo } | { id: string; ok: false; error: PyfleetError };

export type PoolEventName = "worker.starting" | "worker.ready" | "worker.died" | "worker.recycled" | "session.repinned" | "queue.saturated" | "circuit.open" | "circuit.closed";

export interface PoolEvent {
  kind: PoolEventName;
  pool: string;
  time: Date | undefined;
  workerId: string;
  workerPid: number;
  sessionId: string;
  message: string;
}

const EVENT_NAMES: Record<PoolEventKind, PoolEventName | undefined> = {
  [PoolEventKind.UNSPECIFIED]: undefined,
  [PoolEventKind.WORKER_STARTING]: "worker.starting",
  [PoolEventKind.WORKER_READY]: "worker.ready",
  [PoolEventKind.WORKER_DIED]: "worker.died",
  [PoolEventKind.WORKER_RECYCLED]: "worker.recycled",
  [PoolEventKind.SESSION_REPINNED]: "session.repinned",
  [PoolEventKind.QUEUE_SATURATED]: "queue.saturated",
  [PoolEventKind.CIRCUIT_OPEN]: "circuit.open",
  [PoolEventKind.CIRCUIT_CLOSED]: "circuit.closed",
};

export function infoFromProto(info: ProtoCallInfo | undefined): CallInfo {
  return {
    workerId: info?.workerId ?? "",
    workerPid: info?.workerPid ?? 0,
    attempts: info?.attempts ?? 0,
    queuedMs: info?.queued ? durationMs(info.queued) : 0,
    ranMs: info?.ran ? durationMs(info.ran) : 0,
  };
}

function sessionId(session: string | { readonly id: string } | undefined): string {
  return typeof session === "string" ? session : session?.id ?? "";
}

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
    }, { ...(options.signal ? { signal: options.signal } : {}), ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
    return { value: resultValue(res), info: infoFromProto(res.info) };
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
      }, { signal, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
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
          return { chunks: Number(done.chunks), result, info: infoFromProto(done.info) };
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
  async *executeMany(requests: Iterable<ManyRequest> | AsyncIterable<ManyRequest>, options: { signal?: AbortSignal } = {}): AsyncGenerator<ManyResult> {
    if (!this.bidi) {
      throw new PyfleetError("unimplemented", "executeMany needs a bidi stream, which fetch cannot carry; use createClient from \"@pyfleet/sdk/node\"");
    }
    const pool = this.name;
    const toCall = (r: ManyRequest, index: number): MessageInitShape<typeof ExecuteManyRequestSchema> => ({
      id: r.id ?? String(index),
      pool,
      tool: r.tool,
      // JSON text both ways: far cheaper than Struct and Value for both sides.
      ...(r.args ? { argsJson: JSON.stringify(r.args) } : {}),
      resultAsJson: true,
      sessionId: sessionId(r.session),
      idempotent: r.idempotent ?? false,
      ...(r.timeoutMs !== undefined ? { timeout: durationFromMs(r.timeoutMs) } : {}),
    });
    async function* toMessages(): AsyncGenerator<MessageInitShape<typeof ExecuteManyRequestSchema>> {
      // Calls that are ready together travel in one message; a lone call as a
      // message of its own.
      let index = 0;
      for await (const batch of readyBatches(requests, CALLS_PER_MESSAGE)) {
        const calls = batch.map((r) => toCall(r, index++));
        yield calls.length === 1 ? { ...calls[0], maxAnswersPerMessage: CALLS_PER_MESSAGE } : { calls, maxAnswersPerMessage: CALLS_PER_MESSAGE };
      }
    }
    for await (const res of this.rpc.executeMany(toMessages(), options.signal ? { signal: options.signal } : {})) {
      if (res.answers.length === 0) yield manyResult(res);
      else for (const answer of res.answers) yield manyResult(answer);
    }
  }

  /** Opens a session pinned to one worker; close it with `close()` or `await using`. */
  async session(options: SessionOptions = {}): Promise<Session> {
    const res = await this.rpc.createSession({
      pool: this.name,
      affinity: options.affinity === "strict_queue" ? Affinity.STRICT_QUEUE : options.affinity === "strict_fail_fast" ? Affinity.STRICT_FAIL_FAST : Affinity.HINT,
      sessionId: options.id ?? "",
      labels: options.labels ?? {},
      ...(options.ttlMs !== undefined ? { ttl: durationFromMs(options.ttlMs) } : {}),
    });
    return new Session(this.rpc, this, res.session!);
  }

  /** A handle on an existing session. */
  async openSession(id: string): Promise<Session> {
    const res = await this.rpc.getSession({ sessionId: id });
    return new Session(this.rpc, this, res.session!);
  }

  async tools(): Promise<ToolSpec[]> {
    return (await this.rpc.listTools({ pool: this.name })).tools;
  }

  async stats(): Promise<PoolStats> {
    return (await this.rpc.getPoolStats({ pool: this.name })).stats!;
  }

  async list(): Promise<PoolInfo[]> {
    return (await this.rpc.listPools({})).pools;
  }

  /** The pool's events (workers starting, dying, recycled; sessions re-pinned; saturation) until `signal` aborts. */
  async *watch(options: { signal?: AbortSignal } = {}): AsyncGenerator<PoolEvent> {
    try {
      for await (const e of this.rpc.watchPool({ pool: this.name }, options.signal ? { signal: options.signal } : {})) {
        const kind = EVENT_NAMES[e.kind];
        if (!kind) continue;
        yield {
          kind,
          pool: e.pool,
          time: e.time ? new Date(Number(e.time.seconds) * 1000 + e.time.nanos / 1e6) : undefined,
          workerId: e.workerId,
          workerPid: e.workerPid,
          sessionId: e.sessionId,
          message: e.message,
        };
      }
    } catch (e) {
      if (!stoppedByCaller(e, options.signal)) throw e;
    }
  }
}

/** A call's value: bytes, the JSON text asked for, or (from an older server) a Value. */
function resultValue(res: ExecuteResponse): ToolValue {
  if (res.binaryResult.length > 0) return res.binaryResult;
  return res.resultJson !== "" ? JSON.parse(res.resultJson) as JsonValue : valueToJson(res.result);
}

function manyResult(res: ExecuteManyResponse): ManyResult {
  if (res.outcome.case === "result") {
    const r = res.outcome.value;
    return { id: res.id, ok: true, value: resultValue(r), info: infoFromProto(r.info) };
  }
  const s = res.outcome.value;
  const t = s?.toolError;
  return {
    id: res.id,
    ok: false,
    error: s
      ? PyfleetError.fromStatus(s.code, s.message, t && { type: t.type, message: t.message, traceback: t.traceback, tool: t.tool, workerId: t.workerId })
      : new PyfleetError("internal", `the answer for "${res.id}" has neither a result nor an error`),
  };
}

const TURN = Symbol("turn");
const nextTurn = (): Promise<typeof TURN> => new Promise((resolve) => (typeof setImmediate === "function" ? setImmediate : setTimeout)(() => resolve(TURN)));

/**
 * Groups a source into batches of up to `max` items: what a sync iterable
 * holds, or what an async one hands out before the event loop's next turn.
 * A slow source is never waited on to fill a batch.
 */
async function* readyBatches<T>(source: Iterable<T> | AsyncIterable<T>, max: number): AsyncGenerator<T[]> {
  if (!(Symbol.asyncIterator in source)) {
    let batch: T[] = [];
    for (const item of source) {
      batch.push(item);
      if (batch.length === max) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
    return;
  }
  const it = source[Symbol.asyncIterator]();
  try {
    let pending = it.next();
    for (;;) {
      const first = await pending;
      if (first.done) return;
      const batch = [first.value];
      pending = it.next();
      const turn = nextTurn();
      while (batch.length < max) {
        const r = await Promise.race([pending, turn]);
        if (r === TURN) break;
        if (r.done) {
          yield batch;
          return;
        }
        batch.push(r.value);
        pending = it.next();
      }
      yield batch;
    }
  } finally {
    // Not awaited: a source blocked in its pending next() would hold us here.
    it.return?.()?.catch(() => {});
  }
}
