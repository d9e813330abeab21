import { type MessageInitShape, toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { ToolErrorSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/error_pb";
import { type ExecuteRequestSchema, PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { describe, expect, it } from "vitest";
import type { PyfleetServer } from "../../src/index.js";
import { clientFor, PROTOCOLS } from "../clients.js";
import { startServer } from "../helpers.js";

/*
 * Execute's express lane (rpc/execute-express.ts) against the general path
 * it stands in for: two real servers with Python workers, one started with
 * PYFLEET_UNARY_FRONT=general, answer the same requests over every protocol
 * (and Connect JSON over HTTP/1.1 by hand); the answers must be the same
 * bar what differs between any two calls (pids, worker ids, times).
 */

const KEY = "express-test-key-1";
const KEYS = { apiKeys: [{ name: "alice", key: KEY }] };
type Request = MessageInitShape<typeof ExecuteRequestSchema>;

async function serverPair(): Promise<{ express: PyfleetServer; general: PyfleetServer }> {
  const config = { pools: [{ name: "default", size: 2 }], auth: KEYS };
  const express = await startServer(config);
  const before = process.env.PYFLEET_UNARY_FRONT;
  process.env.PYFLEET_UNARY_FRONT = "general";
  let general: PyfleetServer;
  try {
    general = await startServer(config);
  } finally {
    if (before === undefined) delete process.env.PYFLEET_UNARY_FRONT;
    else process.env.PYFLEET_UNARY_FRONT = before;
  }
  await Promise.all([express.ready(), general.ready()]);
  return { express, general };
}

/** What a call's outcome says, less what differs between any two calls. */
async function outcome(call: () => Promise<{ result?: unknown; resultJson: string; binaryResult: Uint8Array; info?: { workerId: string; attempts: number } }>) {
  try {
    const res = await call();
    return {
      result: res.result === undefined ? undefined : toJson(ValueSchema, res.result as never),
      resultJson: res.resultJson,
      binaryResult: Buffer.from(res.binaryResult).toString("hex"),
      worker: /^default-\d+$/.test(res.info?.workerId ?? ""),
      attempts: res.info?.attempts,
    };
  } catch (e) {
    if (!(e instanceof ConnectError)) throw e;
    const toolError = e.findDetails(ToolErrorSchema)[0];
    return {
      code: e.code,
      message: e.rawMessage,
      toolError: toolError && { type: toolError.type, message: toolError.message, tool: toolError.tool, traceback: toolError.traceback.split("\n").at(-2) },
    };
  }
}

const REQUESTS: [string, Request][] = [
  ["echo", { tool: "echo", args: { text: "hello", n: 1, nested: { list: [1, 2.5, null, true] } } }],
  ["echo as JSON text", { tool: "echo", args: { b: 1, a: "☃" }, resultAsJson: true }],
  ["args_json keeps an int an int", { tool: "add", argsJson: '{"a": 2, "b": 3}', resultAsJson: true }],
  ["bytes back", { tool: "stream_bytes", args: { n: 3 } }],
  ["an unknown tool", { tool: "nope" }],
  ["no tool", {}],
  ["an unknown pool", { pool: "nope", tool: "echo" }],
  ["args and args_json", { tool: "echo", args: { a: 1 }, argsJson: "{}" }],
  ["args_json not an object", { tool: "echo", argsJson: "[1]" }],
  ["args_json not JSON", { tool: "echo", argsJson: "{oops" }],
  ["a Python exception", { tool: "fail", args: { message: "boom" } }],
  ["wrong arguments", { tool: "add", args: { a: 1 } }],
  ["a session that does not exist", { tool: "echo", sessionId: "no-such-session" }],
  ["binary args", { tool: "echo", binaryArgs: { blob: new Uint8Array([1, 2]) } }],
  ["a timeout field", { tool: "sleep", args: { seconds: 5 }, timeout: { nanos: 50_000_000 } }],
];

describe("Execute's express lane answers as the general path does", () => {
  it.each(PROTOCOLS)("over %s, for results and every kind of error", async (protocol) => {
    const { express, general } = await serverPair();
    const clients = [express, general].map((s) => clientFor(PoolService, s.url, protocol, KEY));
    for (const [what, req] of REQUESTS) {
      const [ours, theirs] = await Promise.all(clients.map((c) => outcome(() => c.execute(req))));
      // A deadline is enforced twice (the pool's timer, and Python's own), and either may word it first.
      if (what === "a timeout field") expect([ours, theirs].map((o) => (o && "code" in o ? o.code : "ok"))).toEqual([4, 4]);
      else expect({ what, ...ours }).toEqual({ what, ...theirs });
      if (what === "echo") expect(ours).toMatchObject({ result: { text: "hello", n: 1 }, worker: true, attempts: 1 });
      if (what === "a Python exception") expect(ours).toMatchObject({ code: 2, toolError: { type: "ValueError", message: "boom", tool: "fail" } });
    }
  });

  it("authenticates, echoes request ids, counts calls and runs session calls like the general path", async () => {
    const { express, general } = await serverPair();
    for (const server of [express, general]) {
      const anonymous = await outcome(() => clientFor(PoolService, server.url, "connect").execute({ tool: "echo" }));
      expect(anonymous).toMatchObject({ code: 16, message: "missing API key: send the header `Authorization: Bearer <key>`" });
      const wrong = await outcome(() => clientFor(PoolService, server.url, "grpc", "not-the-key").execute({ tool: "echo" }));
      expect(wrong).toMatchObject({ code: 16, message: "unknown API key; check the key you were given" });

      const pool = clientFor(PoolService, server.url, "connect", KEY);
      const { session } = await pool.createSession({});
      await pool.execute({ tool: "setvar", sessionId: session!.id, args: { name: "x", value: 41 } });
      const got = await pool.execute({ tool: "getvar", sessionId: session!.id, args: { name: "x" }, resultAsJson: true });
      expect(got.resultJson).toBe("41");
      expect(got.info?.workerId).toBe(session!.workerId || got.info?.workerId);

      const res = await fetch(`${server.url}/pyfleet.pool.v1.PoolService/Execute`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${KEY}`, "x-request-id": "req-123" },
        body: JSON.stringify({ tool: "echo", args: { text: "hi" } }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-request-id")).toBe("req-123");
      expect(res.headers.get("content-type")).toBe("application/json");
      const body = (await res.json()) as { result: unknown; info: Record<string, unknown> };
      expect(body.result).toEqual({ text: "hi" });
      expect(Object.keys(body.info)).toEqual(["workerId", "workerPid", "attempts", "queued", "ran"]);
      expect(body.info.queued).toMatch(/^\d+(\.\d{3})?s$/);
    }
    // Both count the same calls by code.
    const counts = async (server: PyfleetServer) => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return text.split("\n").filter((l) => l.startsWith("pyfleet_rpc_requests_total{") && l.includes("PoolService/Execute")).sort();
    };
    const [ours, theirs] = await Promise.all([counts(express), counts(general)]);
    expect(ours).toEqual(theirs);
    expect(ours).toContain('pyfleet_rpc_requests_total{method="pyfleet.pool.v1.PoolService/Execute",code="unauthenticated"} 2');
    expect(ours).toContain('pyfleet_rpc_requests_total{method="pyfleet.pool.v1.PoolService/Execute",code="ok"} 3');
  });

  it("writes Connect JSON over HTTP/1.1 as the general path does, byte for byte but for times and pids", async () => {
    const { express, general } = await serverPair();
    const bodies = [
      '{"tool":"echo","args":{"text":"hello","n":1}}',
      '{"tool":"echo","args":{"b":1,"a":[1.5,null]},"result_as_json":true}',
      '{"tool":"add","argsJson":"{\\"a\\": 2.0, \\"b\\": 3}"}',
      '{"tool":"echo","args":{"x":"y"},"bogus":1}',
      '{"tool":"nope"}',
      '{"tool":',
    ];
    const call = async (server: PyfleetServer, body: string) => {
      const res = await fetch(`${server.url}/pyfleet.pool.v1.PoolService/Execute`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
        body,
      });
      const text = (await res.text()).replace(/"workerPid":\d+/, '"workerPid":1').replace(/"default-\d"/, '"default-n"').replace(/"(queued|ran)":"[0-9.]+s"/g, '"$1":"t"');
      return { status: res.status, type: res.headers.get("content-type"), text };
    };
    for (const body of bodies) {
      const [ours, theirs] = await Promise.all([call(express, body), call(general, body)]);
      expect({ body, ...ours }).toEqual({ body, ...theirs });
    }
    expect((await call(express, bodies[0]!)).text).toBe('{"result":{"text":"hello","n":1},"info":{"workerId":"default-n","workerPid":1,"attempts":1,"queued":"t","ran":"t"}}');
  });

  // Cancellation through the lane: the conformance cases "worker is free after cancel" (one-worker pool, every protocol).
  it("carries the client's deadline into the pool", async () => {
    const { express } = await serverPair();
    // By hand, as a client that waits for the server's answer (connect-es's gives up at the deadline itself).
    const res = await fetch(`${express.url}/pyfleet.pool.v1.PoolService/Execute`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}`, "connect-timeout-ms": "200" },
      body: JSON.stringify({ tool: "sleep", args: { seconds: 5 } }),
    });
    expect(res.status).toBe(504);
    // The pool's timer or Python's own check of the deadline words it, whichever comes first; the
    // pool's deadline is what is left of the client's once the body is read (a millisecond may be gone).
    expect(await res.json()).toEqual({ code: "deadline_exceeded", message: expect.stringMatching(/^(call to "sleep" did not finish within its deadline of (19\d|200) ms|tool "sleep" passed its deadline)$/) });
    const pool = clientFor(PoolService, express.url, "grpc", KEY);
    const after = await pool.execute({ tool: "echo", args: { ok: true } });
    expect(toJson(ValueSchema, after.result!)).toEqual({ ok: true });
  });
});
