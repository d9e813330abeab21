import { create } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { ConstraintsSchema, TypedValueSchema, VariableType } from "@pyfleet/sdk/gen/pyfleet/pool/v1/variable_pb";
import { describe, expect, it } from "vitest";
import { typedValueToJson, VariableStore } from "../../src/pool/sessions/variables.js";

const limits = { maxVariables: 3, maxVariableBytes: 64 };
const int = (n: number) => create(TypedValueSchema, { kind: { case: "intValue", value: BigInt(n) } });
const str = (s: string) => create(TypedValueSchema, { kind: { case: "stringValue", value: s } });
const float = (n: number) => create(TypedValueSchema, { kind: { case: "floatValue", value: n } });

describe("session variables", () => {
  it("infers the type, versions every set, and records who set it", () => {
    const store = new VariableStore(limits);
    const first = store.set({ name: "temperature", value: float(0.7) }, "client");
    expect(first.type).toBe(VariableType.FLOAT);
    expect(first.version).toBe(1n);
    const second = store.set({ name: "temperature", value: int(1) }, "tool:tune");
    expect(second.version).toBe(2n);
    expect(typedValueToJson(second.value)).toBe(1);
    expect(second.value?.kind.case).toBe("floatValue");
    expect(second.updatedBy).toBe("tool:tune");
  });

  it("keeps a variable's type for life", () => {
    const store = new VariableStore(limits);
    store.set({ name: "n", value: int(1) }, "client");
    expect(() => store.set({ name: "n", value: str("x") }, "client")).toThrow(/is int; got a string value/);
    expect(() => store.set({ name: "n", value: int(2), type: VariableType.STRING }, "client")).toThrow(/cannot change/);
  });

  it("widens plain values into a JSON variable", () => {
    const store = new VariableStore(limits);
    const v = store.set({ name: "cfg", value: str("hi"), type: VariableType.JSON }, "client");
    expect(v.value?.kind.case).toBe("jsonValue");
    expect(typedValueToJson(v.value)).toBe("hi");
  });

  it("enforces min/max, choices and pattern with a message naming the rule", () => {
    const store = new VariableStore(limits);
    const constraints = create(ConstraintsSchema, { min: 0, max: 10 });
    store.set({ name: "k", value: int(5), constraints }, "client");
    expect(() => store.set({ name: "k", value: int(11) }, "client")).toThrow(/above the maximum 10/);
    const choices = create(ConstraintsSchema, { choices: [create(ValueSchema, { kind: { case: "stringValue", value: "a" } })] });
    expect(() => store.set({ name: "mode", value: str("b"), constraints: choices }, "client")).toThrow(/not one of "a"/);
    const pattern = create(ConstraintsSchema, { pattern: "[a-z]+" });
    expect(() => store.set({ name: "word", value: str("abc1"), constraints: pattern }, "client")).toThrow(/does not match/);
    expect(store.set({ name: "word", value: str("abc"), constraints: pattern }, "client").version).toBe(1n);
  });

  it("does optimistic updates with expected_version", () => {
    const store = new VariableStore(limits);
    store.set({ name: "x", value: int(1), expectedVersion: 0n }, "client");
    expect(() => store.set({ name: "x", value: int(2), expectedVersion: 0n }, "client")).toThrow(expect.objectContaining({ code: "aborted" }));
    expect(() => store.set({ name: "x", value: int(2), expectedVersion: 7n }, "client")).toThrow(expect.objectContaining({ code: "aborted" }));
    expect(store.set({ name: "x", value: int(2), expectedVersion: 1n }, "client").version).toBe(2n);
    expect(() => store.delete("x", 1n)).toThrow(expect.objectContaining({ code: "aborted" }));
    store.delete("x", 2n);
    expect(() => store.get("x")).toThrow(expect.objectContaining({ code: "not_found" }));
  });

  it("bounds the number and size of variables", () => {
    const store = new VariableStore(limits);
    for (const name of ["a", "b", "c"]) store.set({ name, value: int(1) }, "client");
    expect(() => store.set({ name: "d", value: int(1) }, "client")).toThrow(expect.objectContaining({ code: "resource_exhausted" }));
    store.delete("c");
    expect(() => store.set({ name: "big", value: str("x".repeat(100)) }, "client")).toThrow(/maxVariableBytes/);
  });

  it("rejects bad names", () => {
    const store = new VariableStore(limits);
    expect(() => store.set({ name: "has space", value: int(1) }, "client")).toThrow(expect.objectContaining({ code: "invalid_argument" }));
  });

  it("streams changes to watchers, initial values first, and ends them on close", async () => {
    const store = new VariableStore(limits);
    store.set({ name: "a", value: int(1) }, "client");
    const abort = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const change of store.watch(["a"], true, abort.signal)) {
        seen.push(`${change.change}:${change.variable.name}:${typedValueToJson(change.variable.value)}`);
      }
    })();
    store.set({ name: "b", value: int(9) }, "client"); // filtered out
    store.set({ name: "a", value: int(2) }, "client");
    store.delete("a");
    store.close();
    await watching;
    expect(seen).toEqual(["set:a:1", "set:a:2", "deleted:a:2"]);
  });
});
