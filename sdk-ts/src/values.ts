import { create, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { timestampDate, type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import { type TypedValue, TypedValueSchema, type Variable as ProtoVariable, VariableType } from "./gen/pyfleet/pool/v1/variable_pb.js";

/** A value a session variable can hold. */
export type VariableValue = string | number | bigint | boolean | Uint8Array | JsonValue;

export type VariableTypeName = "string" | "int" | "float" | "bool" | "json" | "bytes";

export interface Variable {
  name: string;
  type: VariableTypeName;
  value: VariableValue;
  /** Starts at 1, one more per write; a number, not the proto's uint64: it never nears 2^53. */
  version: number;
  description: string;
  updatedAt: Date | undefined;
  updatedBy: string;
}

const TYPE_NAMES: Record<VariableType, VariableTypeName | undefined> = {
  [VariableType.UNSPECIFIED]: undefined,
  [VariableType.STRING]: "string",
  [VariableType.INT]: "int",
  [VariableType.FLOAT]: "float",
  [VariableType.BOOL]: "bool",
  [VariableType.JSON]: "json",
  [VariableType.BYTES]: "bytes",
};

export const TYPES: Record<VariableTypeName, VariableType> = {
  string: VariableType.STRING,
  int: VariableType.INT,
  float: VariableType.FLOAT,
  bool: VariableType.BOOL,
  json: VariableType.JSON,
  bytes: VariableType.BYTES,
};

export function valueToJson(value: Value | undefined): JsonValue {
  return value ? toJson(ValueSchema, value) : null;
}

export function jsonToValue(json: JsonValue): Value {
  return fromJson(ValueSchema, json);
}

/** A JS value as a TypedValue: strings, integers (number or bigint), floats, booleans, bytes, or any JSON. */
export function toTypedValue(value: VariableValue, type?: VariableTypeName): TypedValue {
  if (type === "json") return create(TypedValueSchema, { kind: { case: "jsonValue", value: jsonToValue(value as JsonValue) } });
  if (value instanceof Uint8Array) return create(TypedValueSchema, { kind: { case: "bytesValue", value } });
  if (typeof value === "bigint") return create(TypedValueSchema, { kind: { case: "intValue", value } });
  if (typeof value === "boolean") return create(TypedValueSchema, { kind: { case: "boolValue", value } });
  if (typeof value === "string") return create(TypedValueSchema, { kind: { case: "stringValue", value } });
  if (typeof value === "number") {
    return Number.isInteger(value) && type !== "float"
      ? create(TypedValueSchema, { kind: { case: "intValue", value: BigInt(value) } })
      : create(TypedValueSchema, { kind: { case: "floatValue", value } });
  }
  return create(TypedValueSchema, { kind: { case: "jsonValue", value: jsonToValue(value) } });
}

/** A TypedValue as a plain JS value (ints as numbers when they fit, else bigint). */
function fromTypedValue(value: TypedValue | undefined): VariableValue {
  const kind = value?.kind;
  switch (kind?.case) {
    case "intValue":
      return Number.isSafeInteger(Number(kind.value)) ? Number(kind.value) : kind.value;
    case "jsonValue":
      return valueToJson(kind.value);
    case undefined:
      return null;
    default:
      return kind?.value ?? null;
  }
}

export function variableFromProto(v: ProtoVariable): Variable {
  return {
    name: v.name,
    type: TYPE_NAMES[v.type] ?? "json",
    value: fromTypedValue(v.value),
    version: Number(v.version),
    description: v.description,
    updatedAt: v.updatedAt ? timestampDate(v.updatedAt) : undefined,
    updatedBy: v.updatedBy,
  };
}
