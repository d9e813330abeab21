import type { JsonObject } from "@bufbuild/protobuf";
import { BoundedChannel } from "../channel.js";
import { PyfleetError } from "../errors.js";
import { ChunkEvent, type ExecuteOptions, jsonOf, parseJson, type PendingCall, type StreamEvent, type ToolStream } from "./calls.js";
import type { Scheduler } from "./scheduler.js";

/**
 * Submits a generator tool's call and returns its events as a stream. At
 * most `window` chunks are buffered: credit goes back to the worker as they
 * are read, so a slow reader slows Python down. Leaving early cancels it.
 */
export function openStream(scheduler: Scheduler, window: number, tool: string, args: JsonObject, options: ExecuteOptions): ToolStream {
  // The worker never sends more than `window` unacknowledged items; +1 for the done event.
  const channel = new BoundedChannel<StreamEvent>(window + 1, () => new PyfleetError("internal", "stream overran its window"));
  let consumed = 0;
  let pending: PendingCall | undefined;
  const abort = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, abort.signal]) : abort.signal;
  try {
    pending = scheduler.submit(tool, args, { ...options, signal }, true, {
      chunk: (items) => {
        for (const item of items) {
          channel.push(item.kind.case === "raw" ? { kind: "binary", value: item.kind.value } : new ChunkEvent(jsonOf(item)));
        }
      },
      result: (payload, info) => {
        const json = jsonOf(payload);
        channel.push({ kind: "done", result: parseJson(json), json, chunks: pending?.chunksDelivered ?? 0, info });
        channel.close();
      },
      fail: (error) => channel.fail(error),
    });
  } catch (e) {
    channel.fail(e);
  }
  channel.onDone(() => abort.abort(new PyfleetError("canceled", "the stream's reader left")));
  const iterator = channel[Symbol.asyncIterator]();
  const grant = Math.max(1, Math.floor(window / 2));
  // Credit as chunks are read, so the worker never has more than `window` unread.
  const read = (n: number) => {
    const before = consumed;
    consumed += n;
    const owed = Math.floor(consumed / grant) - Math.floor(before / grant);
    if (owed > 0) pending?.active?.call.credit(owed * grant);
  };
  return {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const item = await iterator.next();
        if (!item.done && item.value.kind !== "done") read(1);
        return item;
      },
      return: () => iterator.return!(),
    }),
    takeReady(max: number): ChunkEvent[] {
      const ready = channel.takeReady(max, (e) => e.kind === "chunk") as ChunkEvent[];
      if (ready.length > 0) read(ready.length);
      return ready;
    },
  };
}
