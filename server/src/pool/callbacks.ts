import { create, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { TypedValueSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/variable_pb";
import { type Callback, type CallbackResult, CallbackResultSchema } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import { PyfleetError } from "../errors.js";
import { type CallResult, type ExecuteOptions, parseJson } from "./calls.js";
import type { SessionStore } from "./sessions/index.js";
import type { ActiveCall } from "./worker.js";

/** What a tool's callbacks reach: the pool's sessions, and the pool itself for nested calls. */
export interface CallbackHost {
  readonly sessions: SessionStore;
  call(tool: string, args: JsonObject, options: ExecuteOptions): Promise<CallResult>;
}

type Outcome = MessageInitShape<typeof CallbackResultSchema>["outcome"];

/**
 * Answers a running tool's request to the server: a nested call of another
 * tool of the pool, or a read or write of its session's variables.
 */
export function answerCallback(host: CallbackHost, active: ActiveCall, frame: Callback, reply: (r: CallbackResult) => void): void {
  const ok = (outcome: Outcome) => reply(create(CallbackResultSchema, { id: frame.id, outcome }));
  const failWith = (e: unknown) => {
    const err = e instanceof PyfleetError ? e : new PyfleetError("internal", String(e));
    ok({ case: "error", value: { code: err.status, message: err.message } });
  };
  try {
    const op = frame.op;
    if (op.case === "callTool") {
      const args = op.value.args.length > 0 ? (parseJson(op.value.args) as JsonObject) : {};
      host.call(op.value.tool, args, {}).then(
        (r) => ok({ case: "value", value: r.binary ? { kind: { case: "raw", value: r.binary } } : { kind: { case: "json", value: Buffer.from(JSON.stringify(r.value)) } } }),
        failWith,
      );
      return;
    }
    const sessionId = active.request.sessionId;
    if (!sessionId) throw new PyfleetError("failed_precondition", "session variables need a session: call the tool with a session_id");
    const session = host.sessions.findByKey(sessionId);
    if (!session) throw new PyfleetError("not_found", `session "${sessionId}" has ended`);
    host.sessions.touch(session);
    const vars = host.sessions.variables(session);
    const by = `tool:${active.request.tool}`;
    switch (op.case) {
      case "getVariable":
        ok({ case: "variable", value: vars.get(op.value.name) });
        return;
      case "setVariable":
        ok({ case: "variable", value: vars.set({
          name: op.value.name,
          value: op.value.value ?? create(TypedValueSchema),
          type: op.value.type,
          expectedVersion: op.value.expectedVersion,
        }, by) });
        return;
      case "listVariables":
        ok({ case: "variables", value: { variables: vars.list() } });
        return;
      case "deleteVariable":
        vars.delete(op.value.name);
        ok({ case: "done", value: true });
        return;
      default:
        throw new PyfleetError("unimplemented", `unknown callback ${String(op.case)}`);
    }
  } catch (e) {
    failWith(e);
  }
}
