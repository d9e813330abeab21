import type { JsonValue } from "@bufbuild/protobuf";
import { durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type CallInfo as ProtoCallInfo,
  type ExecuteResponse,
  PoolEventKind,
  type PoolInfo as ProtoPoolInfo,
  type PoolStats as ProtoPoolStats,
  type WatchPoolResponse,
} from "./gen/pyfleet/pool/v1/pool_pb.js";
import type { Parameter, ToolSpec } from "./gen/pyfleet/pool/v1/tool_pb.js";
import type { CallInfo, ToolValue } from "./calls.js";
import { valueToJson } from "./values.js";

// What the pool methods return, as plain data (no protobuf messages, no bigint counters).

/** A tool of a pool, as its Python signature describes it. */
export interface ToolInfo {
  name: string;
  description: string;
  parameters: ParameterInfo[];
  /** A generator: call it with `stream`. */
  streaming: boolean;
  idempotent: boolean;
  /** It takes `**kwargs`. */
  acceptsExtraArgs: boolean;
  /** Its return annotation, as written. */
  returns: string;
  /** A batch tool's most calls per invocation (its worker gathers concurrent calls into batches); 0 for other tools. */
  batchSize: number;
  /** A batch tool's longest wait for a batch to fill, in milliseconds; 0 for other tools. */
  batchWaitMs: number;
}

export interface ParameterInfo {
  name: string;
  /** The JSON type it takes ("integer", "string", ...). */
  type: string;
  /** The Python annotation, as written. */
  annotation: string;
  required: boolean;
  /** The default value, when it has one. */
  default: JsonValue | undefined;
  /** The values a Literal annotation allows. */
  choices: JsonValue[];
}

/** A pool as ListPools describes it. */
export interface PoolInfo {
  name: string;
  adapter: string;
  /** The configured local workers; for an autoscaling pool, maxSize. */
  size: number;
  /** The fewest local workers (0: it scales to zero); size for a fixed pool. */
  minSize: number;
  /** The most local workers; size for a fixed pool. */
  maxSize: number;
  concurrency: number;
  startMode: string;
  ready: boolean;
  workers: number;
  isDefault: boolean;
}

/** A pool's counters and gauges. */
export interface PoolStats {
  pool: string;
  workersStarting: number;
  workersReady: number;
  workersBusy: number;
  workersDraining: number;
  workersRemote: number;
  queueDepth: number;
  inFlight: number;
  restarts: number;
  retries: number;
  callsTotal: number;
  /** Failed calls by status code name ("unknown", "deadline_exceeded", ...). */
  errorsByCode: Record<string, number>;
  sessions: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  circuitOpen: boolean;
  /** Local workers the pool aims to have: its size, or its autoscaling's last decision. */
  workersDesired: number;
}

export type PoolEventName = "worker.starting" | "worker.ready" | "worker.died" | "worker.recycled" | "session.repinned" | "queue.saturated" | "circuit.open" | "circuit.closed" | "scale.up" | "scale.down";

/** An autoscaling decision (events scale.up and scale.down). */
export interface ScaleDecision {
  /** "load", "cold_start" or "idle". */
  reason: string;
  fromWorkers: number;
  toWorkers: number;
  queueDepth: number;
  inFlight: number;
}

export interface PoolEvent {
  kind: PoolEventName;
  pool: string;
  time: Date | undefined;
  workerId: string;
  workerPid: number;
  sessionId: string;
  message: string;
  /** For scale.up and scale.down. */
  scale: ScaleDecision | undefined;
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
  [PoolEventKind.SCALE_UP]: "scale.up",
  [PoolEventKind.SCALE_DOWN]: "scale.down",
};

export function callInfoFromProto(info: ProtoCallInfo | undefined): CallInfo {
  return {
    workerId: info?.workerId ?? "",
    workerPid: info?.workerPid ?? 0,
    attempts: info?.attempts ?? 0,
    queuedMs: info?.queued ? durationMs(info.queued) : 0,
    ranMs: info?.ran ? durationMs(info.ran) : 0,
  };
}

/** A call's value: bytes, the JSON text the SDK asks for, or (from an older server) a Value. */
export function resultValue(res: ExecuteResponse): ToolValue {
  if (res.binaryResult.length > 0) return res.binaryResult;
  return res.resultJson !== "" ? JSON.parse(res.resultJson) as JsonValue : valueToJson(res.result);
}

/** A pool event, or undefined for a kind this SDK does not know. */
export function eventFromProto(e: WatchPoolResponse): PoolEvent | undefined {
  const kind = EVENT_NAMES[e.kind];
  if (!kind) return undefined;
  return {
    kind,
    pool: e.pool,
    time: e.time ? timestampDate(e.time) : undefined,
    workerId: e.workerId,
    workerPid: e.workerPid,
    sessionId: e.sessionId,
    message: e.message,
    scale: e.scale && {
      reason: e.scale.reason,
      fromWorkers: e.scale.fromWorkers,
      toWorkers: e.scale.toWorkers,
      queueDepth: e.scale.queueDepth,
      inFlight: e.scale.inFlight,
    },
  };
}

function parameterFromProto(p: Parameter): ParameterInfo {
  return {
    name: p.name,
    type: p.type,
    annotation: p.annotation,
    required: p.required,
    default: p.defaultValue ? valueToJson(p.defaultValue) : undefined,
    choices: p.choices.map(valueToJson),
  };
}

export function toolFromProto(t: ToolSpec): ToolInfo {
  return {
    name: t.name,
    description: t.description,
    parameters: t.parameters.map(parameterFromProto),
    streaming: t.streaming,
    idempotent: t.idempotent,
    acceptsExtraArgs: t.acceptsExtraArgs,
    returns: t.returns,
    batchSize: t.batchSize,
    batchWaitMs: t.batchWaitMs,
  };
}

export function poolInfoFromProto(p: ProtoPoolInfo): PoolInfo {
  return {
    name: p.name,
    adapter: p.adapter,
    size: p.size,
    minSize: p.minSize,
    maxSize: p.maxSize,
    concurrency: p.concurrency,
    startMode: p.startMode,
    ready: p.ready,
    workers: p.workers,
    isDefault: p.isDefault,
  };
}

export function statsFromProto(s: ProtoPoolStats): PoolStats {
  return {
    pool: s.pool,
    workersStarting: s.workersStarting,
    workersReady: s.workersReady,
    workersBusy: s.workersBusy,
    workersDraining: s.workersDraining,
    workersRemote: s.workersRemote,
    queueDepth: s.queueDepth,
    inFlight: s.inFlight,
    restarts: Number(s.restarts),
    retries: Number(s.retries),
    callsTotal: Number(s.callsTotal),
    errorsByCode: Object.fromEntries(Object.entries(s.errorsByCode).map(([code, n]) => [code, Number(n)])),
    sessions: s.sessions,
    latencyP50Ms: s.latencyP50Ms,
    latencyP99Ms: s.latencyP99Ms,
    circuitOpen: s.circuitOpen,
    workersDesired: s.workersDesired,
  };
}
