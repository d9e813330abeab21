import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import type { JsonObject } from "@bufbuild/protobuf";
import { Affinity, type PoolService, type Session as ProtoSession, VariableChange } from "./gen/pyfleet/pool/v1/pool_pb.js";
import { PyfleetError, stoppedByCaller } from "./errors.js";
import type { CallOptions, CallResult, StreamSummary, ToolValue } from "./calls.js";
import { toTypedValue, TYPES, type Variable, variableFromProto, type VariableTypeName, type VariableValue } from "./values.js";

export type AffinityMode = "hint" | "strict_queue" | "strict_fail_fast";

export interface SessionOptions {
  affinity?: AffinityMode;
  ttlMs?: number;
  /** Choose the session id yourself. */
  id?: string;
  labels?: Record<string, string>;
}

export interface SessionInfo {
  id: string;
  pool: string;
  affinity: AffinityMode;
  ttlMs: number;
  owner: string;
  workerId: string;
  labels: Record<string, string>;
  createdAt: number;
  expiresAt: number;
  /** When the pinned worker died and its local state was lost (ms since epoch). */
  stateLostAt: number | undefined;
  /** Calls made in the session; a number, not the proto's uint64: a count never nears 2^53. */
  calls: number;
  repins: number;
}

export interface SetOptions {
  type?: VariableTypeName;
  /** 0: only if the variable does not exist yet; n: only if it is at version n. */
  expectedVersion?: bigint | number;
  description?: string;
  constraints?: { min?: number; max?: number; choices?: VariableValue[]; pattern?: string };
}

export interface VariableEvent {
  change: "set" | "deleted";
  variable: Variable;
}

function infoFromProto(s: ProtoSession): SessionInfo {
  return {
    id: s.id,
    pool: s.pool,
    affinity: s.affinity === Affinity.STRICT_QUEUE ? "strict_queue" : s.affinity === Affinity.STRICT_FAIL_FAST ? "strict_fail_fast" : "hint",
    ttlMs: s.ttl ? durationMs(s.ttl) : 0,
    owner: s.owner,
    workerId: s.workerId,
    labels: s.labels,
    createdAt: s.createdAt ? timestampMs(s.createdAt) : 0,
    expiresAt: s.expiresAt ? timestampMs(s.expiresAt) : 0,
    stateLostAt: s.stateLostAt ? timestampMs(s.stateLostAt) : undefined,
    calls: Number(s.stats?.calls ?? 0n),
    repins: s.stats?.repins ?? 0,
  };
}

/** An expected version as the proto's uint64 (undefined: no condition). */
function versionField(version: bigint | number | undefined): bigint | undefined {
  return version === undefined ? undefined : BigInt(version);
}

/** The calls a session makes through its pool client (PoolClient). */
export interface SessionHost {
  execute(tool: string, args: JsonObject, options: CallOptions): Promise<ToolValue>;
  call(tool: string, args: JsonObject, options: CallOptions): Promise<CallResult>;
  stream(tool: string, args: JsonObject, options: CallOptions): AsyncGenerator<ToolValue, StreamSummary>;
}

/**
 * A session: calls pinned to one worker, and typed variables stored in the
 * server that Python tools read and write. Close it with `close()`, or let
 * `await using` close it.
 */
export class Session implements AsyncDisposable {
  readonly id: string;
  info: SessionInfo;
  private closed = false;

  constructor(
    private readonly rpc: Client<typeof PoolService>,
    private readonly pool: SessionHost,
    session: ProtoSession,
  ) {
    this.id = session.id;
    this.info = infoFromProto(session);
  }

  execute(tool: string, args: JsonObject = {}, options: Omit<CallOptions, "session"> = {}): Promise<ToolValue> {
    return this.pool.execute(tool, args, { ...options, session: this.id });
  }

  call(tool: string, args: JsonObject = {}, options: Omit<CallOptions, "session"> = {}): Promise<CallResult> {
    return this.pool.call(tool, args, { ...options, session: this.id });
  }

  stream(tool: string, args: JsonObject = {}, options: Omit<CallOptions, "session"> = {}): AsyncGenerator<ToolValue, StreamSummary> {
    return this.pool.stream(tool, args, { ...options, session: this.id });
  }

  /** The session as the server sees it now. */
  async refresh(): Promise<SessionInfo> {
    this.info = infoFromProto((await this.rpc.getSession({ sessionId: this.id })).session!);
    return this.info;
  }

  /** A variable's value. */
  async get(name: string): Promise<VariableValue> {
    return (await this.variable(name)).value;
  }

  /** A variable with its type and version. */
  async variable(name: string): Promise<Variable> {
    return variableFromProto((await this.rpc.getVariable({ sessionId: this.id, name })).variable!);
  }

  /** Creates or updates a variable; returns it with its new version. */
  async set(name: string, value: VariableValue, options: SetOptions = {}): Promise<Variable> {
    const c = options.constraints;
    const res = await this.rpc.setVariable({
      sessionId: this.id,
      name,
      value: toTypedValue(value, options.type),
      type: options.type && TYPES[options.type],
      expectedVersion: versionField(options.expectedVersion),
      description: options.description ?? "",
      constraints: c && {
        min: c.min,
        max: c.max,
        choices: (c.choices ?? []).map((v) => { const t = toTypedValue(v, "json"); return t.kind.case === "jsonValue" ? t.kind.value : { kind: { case: "nullValue" as const, value: 0 } }; }),
        pattern: c.pattern ?? "",
      },
    });
    return variableFromProto(res.variable!);
  }

  async delete(name: string, options: { expectedVersion?: bigint | number } = {}): Promise<void> {
    await this.rpc.deleteVariable({
      sessionId: this.id,
      name,
      expectedVersion: versionField(options.expectedVersion),
    });
  }

  async variables(): Promise<Variable[]> {
    return (await this.rpc.listVariables({ sessionId: this.id })).variables.map(variableFromProto);
  }

  /** Every change to the session's variables (by clients or Python) until `signal` aborts or the session ends. */
  async *watch(options: { names?: string[]; includeInitial?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<VariableEvent> {
    try {
      const stream = this.rpc.watchVariables(
        { sessionId: this.id, names: options.names ?? [], includeInitial: options.includeInitial ?? false },
        { signal: options.signal },
      );
      for await (const e of stream) {
        yield { change: e.change === VariableChange.DELETED ? "deleted" : "set", variable: variableFromProto(e.variable!) };
      }
    } catch (e) {
      if (!stoppedByCaller(e, options.signal)) throw e;
    }
  }

  /** Deletes the session (its variables and worker-local state). Closing twice is fine. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.rpc.deleteSession({ sessionId: this.id });
    } catch (e) {
      if (!(e instanceof PyfleetError && e.code === "not_found")) throw e;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

