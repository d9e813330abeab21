import { BoundedChannel } from "../channel.js";
import { PyfleetError } from "../errors.js";
import type { CallResult } from "./calls.js";

/** One call of a pipelined stream; the pipeline records its outcome on it. */
export interface PipelinedCall {
  /** The caller's id for the call, unique among its unanswered calls. */
  readonly id: string;
  result: CallResult | undefined;
  error: PyfleetError | undefined;
  /** Starts the call; it may throw at once (it is then answered with that error). */
  start(): Promise<CallResult>;
}

export interface PipelineOptions {
  /** Calls started and not yet taken by the reader: input is read only while fewer are out. */
  maxInFlight: number;
  /** How many ready answers one batch may hold (read before each batch). */
  batchSize(): number;
  /** The stream ended (the reader left, or the input failed) with calls unanswered: stop them. */
  abandon(): void;
}

const INTERNAL = "internal error; the server log has the details";

/**
 * Runs a stream of calls with at most `maxInFlight` unanswered (an answer
 * the reader has not taken counts as unanswered), and yields the answers as
 * they complete, those ready together in one batch of up to `batchSize()`.
 * A failed call is answered with its error; the stream goes on. The input
 * yields groups of calls (what arrived together); its failure ends the
 * stream with that error once the answers ready before it are taken.
 * Answers wait in a BoundedChannel, the server's one async queue.
 */
export async function* runPipelined<C extends PipelinedCall>(input: AsyncIterable<Iterable<C>>, options: PipelineOptions): AsyncGenerator<C[]> {
  // Unbounded: at most maxInFlight answers wait here, as the reader stops reading input beyond that.
  const answers = new BoundedChannel<C>(Infinity, () => new PyfleetError("internal", INTERNAL));
  const unanswered = new Set<string>();
  let inputDone = false;
  let slotFreed: (() => void) | undefined;
  let outstanding = 0;
  const endIfDone = () => {
    if (inputDone && outstanding === 0) answers.close();
  };
  const fail = (call: C, e: unknown) => {
    call.error = e instanceof PyfleetError ? e : new PyfleetError("internal", INTERNAL);
    answers.push(call);
  };

  const start = (call: C) => {
    outstanding++;
    if (call.id === "") {
      fail(call, new PyfleetError("invalid_argument", "id is required: tag each request with your own id"));
      return;
    }
    if (unanswered.has(call.id)) {
      fail(call, new PyfleetError("invalid_argument", `id "${call.id}" is already in use by an unanswered request`));
      return;
    }
    unanswered.add(call.id);
    try {
      call.start().then(
        (result) => {
          unanswered.delete(call.id);
          call.result = result;
          answers.push(call);
        },
        (e: unknown) => {
          unanswered.delete(call.id);
          fail(call, e);
        },
      );
    } catch (e) {
      unanswered.delete(call.id);
      fail(call, e);
    }
  };

  const reader = (async () => {
    try {
      for await (const group of input) {
        for (const call of group) {
          while (outstanding >= options.maxInFlight) await new Promise<void>((resolve) => (slotFreed = resolve));
          start(call);
        }
      }
      inputDone = true;
      endIfDone();
    } catch (e) {
      // The answers ready before the failure are delivered first.
      answers.fail(e);
    }
  })();

  const iterator = answers[Symbol.asyncIterator]();
  try {
    for (;;) {
      const first = await iterator.next();
      if (first.done) break;
      const batch = [first.value, ...answers.takeReady(options.batchSize() - 1, always)];
      yield batch;
      outstanding -= batch.length;
      slotFreed?.();
      slotFreed = undefined;
      endIfDone();
    }
    await reader;
  } finally {
    await iterator.return?.();
    if (unanswered.size > 0) options.abandon();
  }
}

const always = () => true;
