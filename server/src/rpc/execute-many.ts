import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import {
  type ExecuteManyRequest,
  type ExecuteManyResponse,
  ExecuteManyResponseSchema,
} from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { PyfleetError, STATUS_NUMBERS } from "../errors.js";
import type { PoolRegistry } from "../pool/index.js";
import { callInfoToProto, toValue } from "./pool-convert.js";
import { callOptions, domainSignal } from "./pool.js";
import { durationMs } from "./validate.js";

/**
 * The pipelined channel: reads requests as long as fewer than `maxPipelined`
 * are unanswered (an unread answer counts as unanswered), runs them
 * concurrently, and yields each answer as it completes. A failed request is
 * answered with its status; the stream goes on.
 */
export async function* executeMany(
  pools: PoolRegistry,
  requests: AsyncIterable<ExecuteManyRequest>,
  ctx: HandlerContext,
  maxPipelined: number,
): AsyncGenerator<ExecuteManyResponse> {
  const ready: ExecuteManyResponse[] = [];
  const unanswered = new Set<string>();
  let inputDone = false;
  let inputError: unknown;
  let wake: (() => void) | undefined;
  let slotFreed: (() => void) | undefined;
  let outstanding = 0;
  // One listener on the stream's signal; each request gets its own signal,
  // so none carries hundreds of listeners (each add and remove walks them).
  const abort = domainSignal(ctx.signal);
  const running = new Map<string, AbortController>();
  abort.signal.addEventListener("abort", () => {
    for (const controller of running.values()) controller.abort(abort.signal.reason);
  }, { once: true });
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  const answer = (response: ExecuteManyResponse) => {
    ready.push(response);
    notify();
  };
  const fail = (id: string, e: unknown) => {
    const err = e instanceof PyfleetError ? e : new PyfleetError("internal", "internal error; the server log has the details");
    answer(create(ExecuteManyResponseSchema, {
      id,
      outcome: { case: "error", value: { code: STATUS_NUMBERS[err.code], message: err.message, ...(err.toolError ? { toolError: err.toolError } : {}) } },
    }));
  };

  const reader = (async () => {
    try {
      for await (const req of requests) {
        while (outstanding >= maxPipelined) await new Promise<void>((resolve) => (slotFreed = resolve));
        outstanding++;
        if (req.id === "") {
          fail("", new PyfleetError("invalid_argument", "id is required: tag each request with your own id"));
          continue;
        }
        if (unanswered.has(req.id)) {
          fail(req.id, new PyfleetError("invalid_argument", `id "${req.id}" is already in use by an unanswered request`));
          continue;
        }
        unanswered.add(req.id);
        try {
          const pool = pools.get(req.pool);
          const tool = req.tool;
          if (tool === "") throw new PyfleetError("invalid_argument", "tool is required");
          const controller = new AbortController();
          if (abort.signal.aborted) controller.abort(abort.signal.reason);
          running.set(req.id, controller);
          pool.call(tool, req.args ?? {}, callOptions(ctx, req, durationMs(req.timeout, "timeout"), controller.signal)).then(
            (result) => {
              running.delete(req.id);
              unanswered.delete(req.id);
              answer(create(ExecuteManyResponseSchema, {
                id: req.id,
                outcome: { case: "result", value: { result: toValue(result.value), binaryResult: result.binary ?? new Uint8Array(), info: callInfoToProto(result.info) } },
              }));
            },
            (e: unknown) => {
              running.delete(req.id);
              unanswered.delete(req.id);
              fail(req.id, e);
            },
          );
        } catch (e) {
          running.delete(req.id);
          unanswered.delete(req.id);
          fail(req.id, e);
        }
      }
    } catch (e) {
      inputError = e;
    } finally {
      inputDone = true;
      notify();
    }
  })();

  try {
    for (;;) {
      const next = ready.shift();
      if (next) {
        yield next;
        outstanding--;
        slotFreed?.();
        slotFreed = undefined;
        continue;
      }
      if (inputError !== undefined) throw inputError;
      if (inputDone && outstanding === 0) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    await reader;
  } finally {
    abort.release();
    // Ended early (the client left, or its input failed): stop what still runs.
    if (unanswered.size > 0) abort.cancel("the ExecuteMany stream ended before this request was answered");
  }
}
