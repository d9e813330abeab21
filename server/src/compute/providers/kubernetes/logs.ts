import { PassThrough } from "node:stream";
import { Log } from "@kubernetes/client-node";
import { PyfleetError } from "../../../errors.js";
import type { MachineLogLine, MachineLogOptions } from "../../provider.js";
import type { KubeClient } from "./client.js";

/**
 * One pod's container log through the API server (GET pods/log, which the
 * node's kubelet serves), with timestamps, in batches of lines as they
 * arrive. Ends when the log does (with `follow`, when the container stops)
 * or when `signal` aborts.
 */
export async function* podLog(client: KubeClient, pod: string, container: string, options: MachineLogOptions, source: string): AsyncGenerator<MachineLogLine[]> {
  if (options.tail === 0 && !options.follow) return;
  const stream = new PassThrough();
  let request: AbortController;
  try {
    request = await new Log(client.kc).log(client.namespace, pod, container, stream, {
      follow: options.follow,
      // tailLines 0 means "no tail" to the client; "only new lines" is the last second's.
      tailLines: options.tail > 0 ? options.tail : undefined,
      sinceSeconds: options.tail > 0 ? undefined : 1,
      timestamps: true,
    });
  } catch (e) {
    throw logError(client, pod, e);
  }
  // The response is piped into `stream`, and a pipe does not end its target when the source fails or is aborted.
  const stop = () => {
    request.abort();
    stream.end();
  };
  options.signal.addEventListener("abort", stop, { once: true });
  let partial = "";
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      partial += chunk.toString("utf8");
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      if (lines.length > 0) yield lines.map((l) => parseLine(l, source));
    }
    if (partial) yield [parseLine(partial, source)];
  } finally {
    options.signal.removeEventListener("abort", stop);
    request.abort();
  }
}

/** "2026-01-02T03:04:05.123456789Z text" as the API server writes with timestamps. */
function parseLine(line: string, source: string): MachineLogLine {
  const space = line.indexOf(" ");
  const time = space > 0 ? Date.parse(line.slice(0, space)) : NaN;
  return Number.isNaN(time) ? { text: line, source } : { text: line.slice(space + 1), time, source };
}

function logError(client: KubeClient, pod: string, e: unknown): PyfleetError {
  const { error } = client.translate({ verb: "get", resource: "pods/log", name: pod }, e);
  // 400 is the API server's "container is waiting to start" or "no kubelet serves it": the pod's state, not the request.
  return error.code === "invalid_argument" ? new PyfleetError("failed_precondition", error.message, undefined, { cause: e }) : error;
}

/** Several pods' logs as one stream of batches, in arrival order. */
export async function* mergeLogs(sources: AsyncIterable<MachineLogLine[]>[], signal: AbortSignal): AsyncGenerator<MachineLogLine[]> {
  if (sources.length === 1) {
    yield* sources[0]!;
    return;
  }
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<MachineLogLine[]> }>>();
  const pull = (i: number) => pending.set(i, iterators[i]!.next().then((r) => ({ i, r })));
  iterators.forEach((_, i) => pull(i));
  try {
    while (pending.size > 0 && !signal.aborted) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(i);
        continue;
      }
      pull(i);
      yield r.value;
    }
  } finally {
    await Promise.all(iterators.map((it) => it.return?.()));
  }
}
