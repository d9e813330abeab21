import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs, type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import {
  Affinity,
  type CallInfo,
  CallInfoSchema,
  type ExecuteResponse,
  ExecuteResponseSchema,
  PoolEventKind,
  type PoolStats,
  PoolStatsSchema,
  type Session,
  SessionSchema,
  type StreamDone,
  StreamDoneSchema,
  type WatchPoolResponse,
  WatchPoolResponseSchema,
} from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import type { AffinityMode, CallInfo as DomainCallInfo, CallResult, PoolEvent, PoolStatsSnapshot, SessionRecord, StreamEvent } from "../pool/index.js";

/** Translations between pool domain objects and pyfleet.pool.v1 messages. */

const AFFINITY_TO_PROTO: Record<AffinityMode, Affinity> = {
  hint: Affinity.HINT,
  strict_queue: Affinity.STRICT_QUEUE,
  strict_fail_fast: Affinity.STRICT_FAIL_FAST,
};

export function affinityFromProto(affinity: Affinity): AffinityMode {
  switch (affinity) {
    case Affinity.STRICT_QUEUE:
      return "strict_queue";
    case Affinity.STRICT_FAIL_FAST:
      return "strict_fail_fast";
    default:
      return "hint";
  }
}

export function sessionToProto(s: SessionRecord): Session {
  return create(SessionSchema, {
    id: s.id,
    pool: s.pool,
    affinity: AFFINITY_TO_PROTO[s.affinity],
    ttl: durationFromMs(s.ttlMs),
    owner: s.owner,
    workerId: s.workerId ?? "",
    labels: s.labels ?? {},
    createdAt: timestampFromMs(s.createdAt),
    lastUsedAt: timestampFromMs(s.lastUsedAt),
    expiresAt: timestampFromMs(s.lastUsedAt + s.ttlMs),
    stateLostAt: s.stateLostAt !== undefined ? timestampFromMs(s.stateLostAt) : undefined,
    stats: { calls: BigInt(s.calls), errors: BigInt(s.errors), repins: s.repins, variables: s.variables?.size ?? 0 },
  });
}

function callInfoToProto(info: DomainCallInfo): CallInfo {
  return create(CallInfoSchema, {
    workerId: info.workerId,
    workerPid: info.workerPid,
    attempts: info.attempts,
    queued: durationFromMs(Math.round(info.queuedMs)),
    ran: durationFromMs(Math.round(info.ranMs)),
  });
}

export function statsToProto(s: PoolStatsSnapshot): PoolStats {
  return create(PoolStatsSchema, {
    pool: s.pool,
    workersStarting: s.workersStarting,
    workersReady: s.workersReady,
    workersBusy: s.workersBusy,
    workersDraining: s.workersDraining,
    workersRemote: s.workersRemote,
    queueDepth: s.queueDepth,
    inFlight: s.inFlight,
    restarts: BigInt(s.restarts),
    retries: BigInt(s.retries),
    callsTotal: BigInt(s.callsTotal),
    errorsByCode: Object.fromEntries(Object.entries(s.errorsByCode).map(([k, v]) => [k, BigInt(v)])),
    sessions: s.sessions,
    latencyP50Ms: s.latencyP50Ms,
    latencyP99Ms: s.latencyP99Ms,
    circuitOpen: s.circuitOpen,
    workersDesired: s.workersDesired,
  });
}

const EVENT_KINDS: Record<PoolEvent["kind"], PoolEventKind> = {
  "worker.starting": PoolEventKind.WORKER_STARTING,
  "worker.ready": PoolEventKind.WORKER_READY,
  "worker.died": PoolEventKind.WORKER_DIED,
  "worker.recycled": PoolEventKind.WORKER_RECYCLED,
  "session.repinned": PoolEventKind.SESSION_REPINNED,
  "queue.saturated": PoolEventKind.QUEUE_SATURATED,
  "circuit.open": PoolEventKind.CIRCUIT_OPEN,
  "circuit.closed": PoolEventKind.CIRCUIT_CLOSED,
  "scale.up": PoolEventKind.SCALE_UP,
  "scale.down": PoolEventKind.SCALE_DOWN,
};

export function eventToProto(e: PoolEvent): WatchPoolResponse {
  return create(WatchPoolResponseSchema, {
    kind: EVENT_KINDS[e.kind],
    pool: e.pool,
    time: timestampFromMs(e.time),
    workerId: e.workerId ?? "",
    workerPid: e.pid ?? 0,
    sessionId: e.sessionId ?? "",
    message: e.message ?? "",
    scale: e.scale,
  });
}

const utf8 = new TextDecoder();

/** A call's result as an ExecuteResponse: the value as a Value, or as the worker's JSON text when asked for. */
export function resultToProto(result: CallResult, asJson: boolean): ExecuteResponse {
  return create(ExecuteResponseSchema, {
    resultJson: asJson && result.json ? utf8.decode(result.json) : undefined,
    result: asJson ? undefined : toValue(result.value),
    binaryResult: result.binary,
    info: callInfoToProto(result.info),
  });
}

/** A stream's end: the return value as a Value, or as the worker's JSON text when asked for. */
export function doneToProto(done: Extract<StreamEvent, { kind: "done" }>, asJson: boolean): StreamDone {
  return create(StreamDoneSchema, {
    chunks: BigInt(done.chunks),
    result: asJson ? undefined : toValue(done.result),
    resultJson: asJson ? utf8.decode(done.json) : "",
    info: callInfoToProto(done.info),
  });
}

/** A JSON value from Python as a google.protobuf.Value. */
export function toValue(json: JsonValue): Value {
  return fromJson(ValueSchema, json);
}
