import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ToolErrorSchema } from "../src/gen/pyfleet/pool/v1/error_pb.js";
import { Health } from "../src/gen/grpc/health/v1/health_pb.js";
import { codeName, PyfleetError, STATUS_CODES, statusCode, withPyfleetErrors } from "../src/errors.js";

const root = join(import.meta.dirname, "..", "..");

describe("the status table", () => {
  it("names every Connect code once, in snake case", () => {
    const connect = Object.entries(Code).filter(([, v]) => typeof v === "number").map(([k, v]) => [k.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase(), v]);
    expect(Object.entries(STATUS_CODES).sort()).toEqual(connect.sort());
    expect(codeName(Code.DeadlineExceeded)).toBe("deadline_exceeded");
    expect(statusCode("not_found")).toBe(5);
    expect(codeName(0)).toBe("unknown");
    expect(codeName(99)).toBe("unknown");
  });

  it("is the table the Python SDK and worker runtime use", () => {
    const python = execFileSync(join(root, ".venv", "bin", "python"), ["-c", "import json; from pyfleet._codes import STATUS_CODES; print(json.dumps(STATUS_CODES))"], { encoding: "utf8" });
    expect(JSON.parse(python)).toEqual(STATUS_CODES);
  });
});

describe("withPyfleetErrors", () => {
  const failing = (e: unknown) => withPyfleetErrors(createRouterTransport(({ service }) => {
    service(Health, {
      check() {
        throw e;
      },
      async *watch() {
        yield { status: 1 };
        throw e;
      },
    });
  }));

  it("turns unary failures into PyfleetError with the tool's detail", async () => {
    const err = new ConnectError("boom", Code.Unknown);
    err.details.push({ desc: ToolErrorSchema, value: { type: "ValueError", message: "boom", traceback: "Traceback", tool: "fail", workerId: "w1" } });
    const client = createClient(Health, failing(err));
    const caught = await client.check({}).then(() => undefined, (x: unknown) => x);
    expect(caught).toBeInstanceOf(PyfleetError);
    expect(caught).toMatchObject({ code: "unknown", message: "boom", status: 2, toolError: { type: "ValueError", tool: "fail", workerId: "w1" } });
  });

  it("turns a stream's failure after its first message into PyfleetError", async () => {
    const client = createClient(Health, failing(new ConnectError("gone", Code.Unavailable)));
    const seen: number[] = [];
    const caught = await (async () => {
      for await (const res of client.watch({})) seen.push(res.status);
    })().then(() => undefined, (x: unknown) => x);
    expect(seen).toEqual([1]);
    expect(caught).toBeInstanceOf(PyfleetError);
    expect(caught).toMatchObject({ code: "unavailable", message: "gone" });
  });
});
