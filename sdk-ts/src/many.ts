import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import type { ExecuteManyRequestSchema, ExecuteManyResponse, PoolService } from "./gen/pyfleet/pool/v1/pool_pb.js";
import type { CallInfo, ToolValue } from "./calls.js";
import { PyfleetError } from "./errors.js";
import { callInfoFromProto, resultValue } from "./pool-info.js";

/** Calls sent in one ExecuteMany message, and answers the server may pack in one (max_answers_per_message). */
const CALLS_PER_MESSAGE = 256;

/** The response header that states the server's version. */
export const VERSION_HEADER = "pyfleet-version";
/** The first server version with ExecuteMany's batch form (calls, max_answers_per_message, JSON text). */
const BATCH_SINCE = [0, 1, 0];

/** Whether a server version (from VERSION_HEADER) has the batch form; no version means an older server. */
export function supportsBatchForm(version: string | null | undefined): boolean {
  const parts = /^(\d+)\.(\d+)\.(\d+)/.exec(version ?? "")?.slice(1).map(Number);
  if (!parts) return false;
  for (let i = 0; i < 3; i++) if (parts[i] !== BATCH_SINCE[i]) return parts[i]! > BATCH_SINCE[i]!;
  return true;
}

/** Per client: the server's answer on the batch form, asked once (one ListPools, read for its header). */
const batchForm = new WeakMap<object, Promise<boolean>>();

function serverHasBatchForm(rpc: Client<typeof PoolService>, signal: AbortSignal | undefined): Promise<boolean> {
  let known = batchForm.get(rpc);
  if (!known) {
    let version: string | null = null;
    known = rpc.listPools({}, { signal, onHeader: (h) => { version = h.get(VERSION_HEADER); } }).then(() => supportsBatchForm(version));
    // A failed probe is asked again next time rather than remembered.
    known.catch(() => batchForm.delete(rpc));
    batchForm.set(rpc, known);
  }
  return known;
}

export interface ManyRequest {
  /** Your id for the call; echoed in its result. Default: its index as a string. */
  id?: string;
  tool: string;
  args?: JsonObject;
  session?: string | { readonly id: string };
  timeoutMs?: number;
  idempotent?: boolean;
}

export type ManyResult = { id: string; ok: true; value: ToolValue; info: CallInfo } | { id: string; ok: false; error: PyfleetError };

export function sessionId(session: string | { readonly id: string } | undefined): string {
  return typeof session === "string" ? session : session?.id ?? "";
}

/**
 * ExecuteMany: calls that are ready together travel in one message (a lone
 * call as a message of its own), and answers come back as they finish.
 */
export async function* executeMany(
  rpc: Client<typeof PoolService>,
  pool: string,
  requests: Iterable<ManyRequest> | AsyncIterable<ManyRequest>,
  signal: AbortSignal | undefined,
): AsyncGenerator<ManyResult> {
  const toCall = (r: ManyRequest, index: number): MessageInitShape<typeof ExecuteManyRequestSchema> => ({
    id: r.id ?? String(index),
    pool,
    tool: r.tool,
    // JSON text both ways: numbers keep their type, and it is far cheaper than Struct and Value.
    argsJson: r.args ? JSON.stringify(r.args) : "",
    resultAsJson: true,
    sessionId: sessionId(r.session),
    idempotent: r.idempotent ?? false,
    timeout: r.timeoutMs !== undefined ? durationFromMs(r.timeoutMs) : undefined,
  });
  // A server older than the batch form gets one call per message, arguments as a Struct.
  const toPlainCall = (r: ManyRequest, index: number): MessageInitShape<typeof ExecuteManyRequestSchema> => ({
    id: r.id ?? String(index),
    pool,
    tool: r.tool,
    args: r.args ?? {},
    sessionId: sessionId(r.session),
    idempotent: r.idempotent ?? false,
    timeout: r.timeoutMs !== undefined ? durationFromMs(r.timeoutMs) : undefined,
  });
  const batched = await serverHasBatchForm(rpc, signal);
  async function* toMessages(): AsyncGenerator<MessageInitShape<typeof ExecuteManyRequestSchema>> {
    let index = 0;
    if (!batched) {
      for await (const r of requests) yield toPlainCall(r, index++);
      return;
    }
    for await (const batch of readyBatches(requests, CALLS_PER_MESSAGE)) {
      const calls = batch.map((r) => toCall(r, index++));
      yield calls.length === 1 ? { ...calls[0], maxAnswersPerMessage: CALLS_PER_MESSAGE } : { calls, maxAnswersPerMessage: CALLS_PER_MESSAGE };
    }
  }
  for await (const res of rpc.executeMany(toMessages(), { signal })) {
    if (res.answers.length === 0) yield manyResult(res);
    else for (const answer of res.answers) yield manyResult(answer);
  }
}

function manyResult(res: ExecuteManyResponse): ManyResult {
  if (res.outcome.case === "result") {
    const r = res.outcome.value;
    return { id: res.id, ok: true, value: resultValue(r), info: callInfoFromProto(r.info) };
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
