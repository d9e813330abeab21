import type { HandlerContext } from "@connectrpc/connect";
import type { ExecuteManyRequest, ExecuteManyResponse } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { PyfleetError } from "../errors.js";
import type { PoolRegistry } from "../pool/index.js";
import { type Answer, answersMessage, answerToProto } from "./many-answers.js";
import { callOptions, domainSignal } from "./call-options.js";
import { callArgs, durationMs } from "./validate.js";

/** ExecuteManyRequest.max_answers_per_message is capped here, so a message stays small. */
const MAX_ANSWERS_PER_MESSAGE = 1024;

/**
 * The pipelined channel: reads calls as long as fewer than `maxPipelined`
 * are unanswered (an unread answer counts as unanswered), runs them
 * concurrently, and yields each answer as it completes. A failed call is
 * answered with its status; the stream goes on. A message may carry several
 * calls (`calls`), and answers ready together share a message when the
 * client allows it (`max_answers_per_message`).
 */
export async function* executeMany(
  pools: PoolRegistry,
  requests: AsyncIterable<ExecuteManyRequest>,
  ctx: HandlerContext,
  maxPipelined: number,
): AsyncGenerator<ExecuteManyResponse> {
  const ready: Answer[] = [];
  let maxAnswers = 1;
  const unanswered = new Set<string>();
  let inputDone = false;
  let inputError: unknown;
  let wake: (() => void) | undefined;
  let slotFreed: (() => void) | undefined;
  let outstanding = 0;
  // One signal for the stream's calls (the pool keeps one listener per signal).
  const abort = domainSignal(ctx.signal);
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  const answer = (done: Answer) => {
    ready.push(done);
    notify();
  };
  const fail = (id: string, e: unknown) => {
    answer({ id, error: e instanceof PyfleetError ? e : new PyfleetError("internal", "internal error; the server log has the details") });
  };

  const start = (req: ExecuteManyRequest) => {
    outstanding++;
    if (req.id === "") {
      fail("", new PyfleetError("invalid_argument", "id is required: tag each request with your own id"));
      return;
    }
    if (unanswered.has(req.id)) {
      fail(req.id, new PyfleetError("invalid_argument", `id "${req.id}" is already in use by an unanswered request`));
      return;
    }
    unanswered.add(req.id);
    try {
      const pool = pools.get(req.pool);
      const tool = req.tool;
      if (tool === "") throw new PyfleetError("invalid_argument", "tool is required");
      const { args, argsJson } = callArgs(req);
      pool.call(tool, args, callOptions(ctx, req, durationMs(req.timeout, "timeout"), abort.signal, argsJson)).then(
        (result) => {
          unanswered.delete(req.id);
          answer({ id: req.id, result, asJson: req.resultAsJson });
        },
        (e: unknown) => {
          unanswered.delete(req.id);
          fail(req.id, e);
        },
      );
    } catch (e) {
      unanswered.delete(req.id);
      fail(req.id, e);
    }
  };

  const reader = (async () => {
    try {
      for await (const message of requests) {
        if (message.maxAnswersPerMessage > 0) maxAnswers = Math.min(message.maxAnswersPerMessage, MAX_ANSWERS_PER_MESSAGE);
        const calls = message.calls.length > 0 ? batchOf(message) : [message];
        for (const call of calls) {
          if (call !== message && call.maxAnswersPerMessage > 0) maxAnswers = Math.min(call.maxAnswersPerMessage, MAX_ANSWERS_PER_MESSAGE);
          while (outstanding >= maxPipelined) await new Promise<void>((resolve) => (slotFreed = resolve));
          start(call);
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
      if (ready.length > 0) {
        // Answers that finished together go in one message when the client allows it.
        const count = Math.min(ready.length, maxAnswers);
        yield count === 1 ? answerToProto(ready.shift()!) : answersMessage(ready.splice(0, count));
        outstanding -= count;
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

/** The calls a batch message carries, after checking it is only a carrier. */
function batchOf(message: ExecuteManyRequest): ExecuteManyRequest[] {
  const own = message.id !== "" || message.tool !== "" || message.pool !== "" || message.sessionId !== "" || message.idempotent
    || message.args !== undefined || message.argsJson !== "" || message.resultAsJson || message.timeout !== undefined
    || Object.keys(message.binaryArgs).length > 0;
  if (own) {
    throw new PyfleetError("invalid_argument", "a message that sets `calls` carries no call of its own: move its id, tool and arguments into an entry of `calls`");
  }
  for (const call of message.calls) {
    if (call.calls.length > 0) throw new PyfleetError("invalid_argument", `call "${call.id}": an entry of \`calls\` may not set \`calls\` itself`);
  }
  return message.calls;
}
