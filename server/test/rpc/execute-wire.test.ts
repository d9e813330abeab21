import { create, fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import { ExecuteRequestSchema, ExecuteResponseSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { describe, expect, it } from "vitest";
import { CallResult } from "../../src/pool/index.js";
import { executeFromBinary, executeFromJson, executeResponseBinary, executeResponseJson, readExecuteRequest } from "../../src/rpc/execute-wire.js";
import { resultToProto } from "../../src/rpc/pool-convert.js";

/*
 * Execute's hand-written wire forms against protobuf-es's: every request the
 * JSON reader takes must read exactly as fromJson reads it, and every
 * response must be the text and bytes toJsonString and toBinary write.
 */

const utf8 = new TextEncoder();
const info = (over: Partial<CallResult["info"]> = {}) => ({ workerId: "default-1", workerPid: 4242, attempts: 1, queuedMs: 0, ranMs: 0.4, ...over });

/** Requests of the common shape: the reader takes each. */
const TAKEN = [
  '{"tool":"echo","args":{"text":"hello","n":1}}',
  '{"tool":"echo"}',
  "{}",
  '{"pool":"gpu","tool":"t","args":{},"sessionId":"s-1","idempotent":true,"resultAsJson":true}',
  '{"tool":"t","session_id":"s","result_as_json":false,"args_json":"{\\"a\\": 5.0}"}',
  '{"tool":"t","argsJson":"not json at all"}',
  '{"tool":"t","args":{"b":1,"a":2,"2":"two","1":"one","nested":{"x":[1,2.5,-0,1e21,null,true,"☃"]}}}',
  '{"tool":"t","args":{"big":12345678901234567890,"small":1e-7,"neg":-3.25}}',
  '{"tool":"\\u00e9\\ud83d\\ude00","args":{"s":"\\ud800"}}',
  ' \n{ "tool" : "t" , "args" : { } }\t',
  '{"tool":"t","args":{"a":1},"argsJson":"{}"}',
  '{"tool":""}',
  '{"tool":"t","args":{"x":{"k":1},"y":{"k":2},"z":[{"k":1},{"k":2}],"k":"\\"k\\""}}',
  '{"tool":"t","args":{"a\\"b":1,"a\\\\":2,"{[,]}":"}]"}}',
];

/** Inputs the reader leaves to protobuf-es (which takes some and refuses others). */
const DECLINED = [
  '{"tool":"t","timeout":"1s"}',
  '{"tool":"t","binaryArgs":{"b":"AAE="}}',
  '{"tool":"t","binary_args":{}}',
  '{"tool":null}',
  '{"tool":"t","args":null}',
  '{"tool":"t","args":[1]}',
  '{"tool":"t","args":"x"}',
  '{"tool":5}',
  '{"tool":"t","idempotent":"true"}',
  '{"tool":"t","idempotent":1}',
  '{"tool":"t","unknown":1}',
  '{"tool":"t","sessionId":"a","session_id":"b"}',
  '{"tool":"t","args":{"__proto__":{"x":1}}}',
  "[]",
  "null",
  '"tool"',
  "{",
  "",
  '{"tool":"t"} trailing',
  '{"tool":"a","tool":"b"}',
  '{"tool":"t","args":{"x":1,"x":2}}',
  '{"tool":"t","args":{"x":[{"k":1,"\\u006b":2}]}}',
  '{"tool":"t","args":{"x":{"y":{"z":1,"z":1}}}}',
  `{"tool":"t","args":{"x":${"[".repeat(40)}${"]".repeat(40)}}}`,
];

function generalRead(text: string) {
  return fromJsonString(ExecuteRequestSchema, text, { ignoreUnknownFields: false });
}

function fieldsOf(req: NonNullable<ReturnType<typeof executeFromJson>>) {
  return {
    pool: req.pool,
    tool: req.tool,
    // JSON text: the arguments' key order is what Python sees.
    args: req.args === undefined ? undefined : JSON.stringify(req.args),
    argsJson: req.argsJson,
    binaryArgs: req.binaryArgs,
    sessionId: req.sessionId,
    idempotent: req.idempotent,
    timeout: req.timeout,
    resultAsJson: req.resultAsJson,
  };
}

describe("Execute requests read from Connect JSON by hand", () => {
  it.each(TAKEN)("reads %s exactly as protobuf-es does", (text) => {
    const ours = executeFromJson(utf8.encode(text));
    expect(ours).toBeDefined();
    expect(fieldsOf(ours!)).toEqual(fieldsOf(generalRead(text)));
  });

  it.each(DECLINED)("leaves %s to protobuf-es", (text) => {
    expect(executeFromJson(utf8.encode(text))).toBeUndefined();
  });

  it("takes nesting protobuf-es takes, and leaves deeper nesting to it", () => {
    for (let depth = 1; depth <= 120; depth++) {
      const text = `{"tool":"t","args":{"x":${"[".repeat(depth)}${"]".repeat(depth)}}}`;
      const ours = executeFromJson(utf8.encode(text));
      if (ours === undefined) continue;
      expect(depth).toBeLessThanOrEqual(31);
      expect(fieldsOf(ours)).toEqual(fieldsOf(generalRead(text)));
    }
  });

  it("reads protobuf binary through protobuf-es when the hand reader declines it, and declines what does not parse", () => {
    const req = create(ExecuteRequestSchema, { tool: "echo", args: { a: 1 }, sessionId: "s", timeout: { seconds: 2n } });
    expect(fieldsOf(executeFromBinary(toBinary(ExecuteRequestSchema, req))!)).toEqual(fieldsOf(req));
    expect(executeFromBinary(new Uint8Array([0x0a, 0x05, 0x61]))).toBeUndefined();
  });
});

/** protobuf-es's reading of binary input, or undefined where it refuses it. */
function generalReadBinary(bytes: Uint8Array) {
  try {
    return fromBinary(ExecuteRequestSchema, bytes);
  } catch {
    return undefined;
  }
}

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ""), "hex");
/** The binary requests of the common shape: the JSON ones above (those protobuf-es reads) as protobuf-es writes them. */
const TAKEN_BINARY = TAKEN.map((text) => generalRead(text)).filter((req) => !(req.args !== undefined && req.argsJson !== "")).map((req) => toBinary(ExecuteRequestSchema, req));

/** Binary inputs the hand reader leaves to protobuf-es (which reads some and refuses others). */
const DECLINED_BINARY: [string, Buffer][] = [
  ["a timeout", Buffer.from(toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { tool: "t", timeout: { seconds: 1n } })))],
  ["binary arguments", Buffer.from(toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { tool: "t", binaryArgs: { b: new Uint8Array([1]) } })))],
  ["an unknown field", hex("12 01 74  50 01")],
  ["a field written twice", hex("12 01 74  12 01 75")],
  ["args written twice (protobuf merges them)", hex("1a 00  1a 00")],
  ["a boolean as a two-byte varint", hex("30 81 00")],
  ["a boolean of 2", hex("30 02")],
  ["invalid UTF-8 in a string", hex("12 02 c3 28")],
  ["a length past the end", hex("12 05 61")],
  ["a repeated key in args", hex("1a 12  0a 07 0a 01 78 12 02 08 00  0a 07 0a 01 78 12 02 08 00")],
  ["a Value with no kind", hex("1a 05  0a 03 0a 01 78")],
  ["a Value with no kind (empty value field)", hex("1a 07  0a 05 0a 01 78 12 00")],
  ["a Value with two kinds", hex("1a 0b  0a 09 0a 01 78 12 04 20 01 20 00")],
  ["a map entry with its value first", hex("1a 08  0a 06 12 02 20 01 0a 00")],
  ["a map entry without its key", hex("1a 06  0a 04 12 02 20 01")],
  ["NaN", hex("1a 10  0a 0e 0a 01 78 12 09 11 000000000000f87f")],
  ["Infinity", hex("1a 10  0a 0e 0a 01 78 12 09 11 000000000000f07f")],
  ["a null_value of 1", hex("1a 09  0a 07 0a 01 78 12 02 08 01")],
  ["__proto__ as a key", hex("1a 11  0a 0f 0a 09 5f5f70726f746f5f5f 12 02 08 00")],
  ["nesting past 32", Buffer.from(toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { tool: "t", args: { x: JSON.parse(`${"[".repeat(40)}${"]".repeat(40)}`) } })))],
];

describe("Execute requests read from protobuf binary by hand", () => {
  it.each(TAKEN_BINARY.map((bytes) => [Buffer.from(bytes).toString("hex"), bytes] as const))("reads %s exactly as protobuf-es does", (_, bytes) => {
    const ours = readExecuteRequest(Buffer.from(bytes));
    expect(fieldsOf(ours)).toEqual(fieldsOf(fromBinary(ExecuteRequestSchema, bytes)));
    expect(fieldsOf(executeFromBinary(bytes)!)).toEqual(fieldsOf(ours));
  });

  it.each(DECLINED_BINARY)("leaves %s to protobuf-es", (_, bytes) => {
    expect(() => readExecuteRequest(bytes)).toThrow();
    const general = generalReadBinary(bytes);
    expect(executeFromBinary(bytes) && fieldsOf(executeFromBinary(bytes)!)).toEqual(general && fieldsOf(general));
  });

  it("reads every mutation of a request exactly as protobuf-es does, or as it refuses it", () => {
    const base = Buffer.from(toBinary(ExecuteRequestSchema, generalRead('{"pool":"p","tool":"echo","sessionId":"s","idempotent":true,"args":{"b":1,"a":[2.5,null,true,"☃",{"k":{}}]}}')));
    let random = 7;
    const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31);
    let taken = 0;
    for (let round = 0; round < 3000; round++) {
      const bytes = Buffer.from(base);
      for (let flips = 1 + (next() % 3); flips > 0; flips--) {
        const at = next() % bytes.length;
        bytes[at] = bytes[at]! ^ (1 << (next() % 8));
      }
      const input = round % 5 === 0 ? bytes.subarray(0, next() % bytes.length) : bytes;
      let ours;
      try {
        ours = readExecuteRequest(input);
        taken++;
      } catch {
        continue;
      }
      const general = generalReadBinary(input);
      expect(general, `protobuf-es refuses ${input.toString("hex")}`).toBeDefined();
      expect(fieldsOf(ours)).toEqual(fieldsOf(general!));
    }
    // The mutations must not all have been declined: many flips land inside strings and numbers.
    expect(taken).toBeGreaterThan(250);
  });
});

/** Results as the worker sends them, with call info of every form. */
const RESULTS = [
  new CallResult(utf8.encode('{"text":"hello","n":1}'), undefined, info()),
  new CallResult(utf8.encode("5"), undefined, info({ queuedMs: 1_234.6, ranMs: 65_000_001 })),
  new CallResult(utf8.encode("5.0"), undefined, info({ queuedMs: 999.5, ranMs: 1000 })),
  new CallResult(utf8.encode("null"), undefined, info({ workerId: "", workerPid: 0, attempts: 0 })),
  new CallResult(utf8.encode('[1, 2.5, {"b": 1, "a": "☃\\u00e9"}, true, null, -0.0, 1e-7, 1e21]'), undefined, info({ attempts: 3, queuedMs: 0.49, ranMs: 12.5 })),
  new CallResult(utf8.encode('{"2": "two", "1": "one", "z": {}}'), undefined, info({ workerId: "wörker \"q\"" })),
  new CallResult(utf8.encode('"a string with \\"quotes\\" and \\n"'), undefined, info({ ranMs: 59_999.6 })),
  new CallResult(utf8.encode(`{"long": "${"y".repeat(400)}", "n": 123456789012345678901234567890}`), undefined, info()),
  new CallResult(utf8.encode(`[${"9".repeat(320)}]`), undefined, info()),
  new CallResult(undefined, new Uint8Array([0, 1, 255]), info()),
  new CallResult(utf8.encode("1"), undefined, info({ workerPid: -1, queuedMs: -2 })),
  new CallResult(utf8.encode('{"": "", "e": [], "o": {}, "f": false, "t": true, "n": null, "x": -1.5e-300, "lone": "\\ud800", "big": 1e308}'), undefined, info()),
  new CallResult(utf8.encode(`{"s": "${"é".repeat(100)}", "l": [${Array.from({ length: 200 }, (_, i) => i).join(",")}]}`), undefined, info()),
  new CallResult(utf8.encode(`${"[".repeat(31)}1${"]".repeat(31)}`), undefined, info()),
  new CallResult(utf8.encode(`${"[".repeat(40)}1${"]".repeat(40)}`), undefined, info()),
  new CallResult(utf8.encode(`${'{"a":'.repeat(40)}1${"}".repeat(40)}`), undefined, info()),
  new CallResult(utf8.encode("1e400"), undefined, info()),
];

describe("Execute responses written by hand", () => {
  it.each(RESULTS.map((r, i) => [i, r] as const))("result %i is the JSON text toJsonString writes, with and without result_as_json", (_, result) => {
    for (const asJson of [false, true]) {
      let general: string | Error;
      try {
        general = toJsonString(ExecuteResponseSchema, resultToProto(result, asJson));
      } catch (e) {
        general = e as Error;
      }
      if (general instanceof Error) expect(() => executeResponseJson(result, asJson)).toThrow(general.message);
      else expect(executeResponseJson(result, asJson)).toBe(general);
    }
  });

  it.each(RESULTS.map((r, i) => [i, r] as const))("result %i is the bytes toBinary writes, with and without result_as_json", (_, result) => {
    for (const asJson of [false, true]) {
      let general: Uint8Array | Error;
      try {
        general = toBinary(ExecuteResponseSchema, resultToProto(result, asJson));
      } catch (e) {
        general = e as Error;
      }
      if (general instanceof Error) expect(() => executeResponseBinary(result, asJson)).toThrow(general.message);
      else expect(Buffer.from(executeResponseBinary(result, asJson)).toString("hex")).toBe(Buffer.from(general).toString("hex"));
    }
  });
});
