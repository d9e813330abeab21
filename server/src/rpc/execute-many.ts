import { durationMs as toMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import type { ExecuteManyRequest, ExecuteManyResponse } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { PyfleetError } from "../errors.js";
import type { Hop, SessionRouter } from "../fleet/index.js";
import { CallResult, type PipelinedCall, type PoolRegistry, runPipelined } from "../pool/index.js";
import { tenantOf } from "./context.js";
import { type Answer, answersMessage, answerToProto } from "./many-answers.js";
import { callOptions, domainSignal } from "./call-options.js";
import { callArgs, durationMs } from "./validate.js";

const utf8 = new TextEncoder();

/** ExecuteManyRequest.max_answers_per_message is capped here, so a message stays small. */
const MAX_ANSWERS_PER_MESSAGE = 1024;

/** One request of the stream as a pipelined call; it is also its own answer (see Answer). */
class ManyCall implements PipelinedCall {
  readonly id: string;
  readonly asJson: boolean;
  result: CallResult | undefined = undefined;
  error: PyfleetError | undefined = undefined;

  constructor(
    private readonly req: ExecuteManyRequest,
    private readonly pools: PoolRegistry,
    private readonly ctx: HandlerContext,
    private readonly signal: AbortSignal,
    private readonly router: SessionRouter | undefined,
  ) {
    this.id = req.id;
    this.asJson = req.resultAsJson;
  }

  start(): Promise<CallResult> {
    const route = this.router?.route(this.req.sessionId, tenantOf(this.ctx), this.ctx);
    if (route === undefined) return this.here();
    return route.then((hop) => (hop ? this.forward(hop) : this.here()));
  }

  /** A call in a session another replica owns: Execute there, its answer as this call's. */
  private async forward(hop: Hop): Promise<CallResult> {
    const req = this.req;
    const res = await hop.unary((client, options) => client.execute({
      pool: req.pool, tool: req.tool, args: req.args, binaryArgs: req.binaryArgs, sessionId: req.sessionId,
      idempotent: req.idempotent, timeout: req.timeout, argsJson: req.argsJson, resultAsJson: true,
    }, options)).catch((e: unknown) => {
      throw PyfleetError.from(e);
    });
    const info = res.info;
    const binary = res.resultJson === "" && res.binaryResult.length > 0;
    return new CallResult(binary ? undefined : utf8.encode(res.resultJson || "null"), binary ? res.binaryResult : undefined, {
      workerId: info?.workerId ?? "",
      workerPid: info?.workerPid ?? 0,
      attempts: info?.attempts ?? 1,
      queuedMs: info?.queued ? toMs(info.queued) : 0,
      ranMs: info?.ran ? toMs(info.ran) : 0,
    });
  }

  private here(): Promise<CallResult> {
    const req = this.req;
    const pool = this.pools.get(req.pool);
    const tool = req.tool;
    if (tool === "") throw new PyfleetError("invalid_argument", "tool is required");
    const { args, argsJson } = callArgs(req);
    return pool.call(tool, args, callOptions(this.ctx, req, durationMs(req.timeout, "timeout"), this.signal, argsJson));
  }
}

/**
 * The pipelined channel: the pool engine runs the stream's calls with at
 * most `maxPipelined` unanswered (runPipelined); this translates messages to
 * calls and answers to messages. A message may carry several calls
 * (`calls`), and answers ready together share a message when the client
 * allows it (`max_answers_per_message`).
 */
export async function* executeMany(
  pools: PoolRegistry,
  requests: AsyncIterable<ExecuteManyRequest>,
  ctx: HandlerContext,
  maxPipelined: number,
  /** Sends calls in sessions other replicas own there; without it every call runs here. */
  router?: SessionRouter,
): AsyncGenerator<ExecuteManyResponse> {
  let maxAnswers = 1;
  // One signal for the stream's calls (the pool keeps one listener per signal).
  const abort = domainSignal(ctx.signal);
  async function* calls(): AsyncGenerator<ManyCall[]> {
    for await (const message of requests) {
      if (message.maxAnswersPerMessage > 0) maxAnswers = Math.min(message.maxAnswersPerMessage, MAX_ANSWERS_PER_MESSAGE);
      const group = message.calls.length > 0 ? batchOf(message) : [message];
      for (const call of group) {
        if (call !== message && call.maxAnswersPerMessage > 0) maxAnswers = Math.min(call.maxAnswersPerMessage, MAX_ANSWERS_PER_MESSAGE);
      }
      yield group.map((req) => new ManyCall(req, pools, ctx, abort.signal, router));
    }
  }
  try {
    const answers = runPipelined(calls(), {
      maxInFlight: maxPipelined,
      batchSize: () => maxAnswers,
      abandon: () => abort.cancel("the ExecuteMany stream ended before this request was answered"),
    });
    for await (const batch of answers) {
      // Answers that finished together go in one message when the client allows it.
      yield batch.length === 1 ? answerToProto(batch[0] as Answer) : answersMessage(batch as Answer[]);
    }
  } finally {
    abort.release();
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
