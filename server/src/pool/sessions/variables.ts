import { create, fromJson, toBinary, toJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampNow, ValueSchema } from "@bufbuild/protobuf/wkt";
import {
  type Constraints,
  type TypedValue,
  TypedValueSchema,
  type Variable,
  VariableSchema,
  VariableType,
} from "@pyfleet/sdk/gen/pyfleet/pool/v1/variable_pb";
import { PyfleetError } from "../../errors.js";
import { BoundedChannel } from "../../channel.js";

export interface SetVariableInput {
  name: string;
  value: TypedValue;
  /** On create; must match on update. */
  type?: VariableType;
  /** Replaces the constraints when given. */
  constraints?: Constraints;
  description?: string;
  /** 0n: only if absent; n: only if the current version is n. */
  expectedVersion?: bigint;
}

export interface VariableLimits {
  maxVariables: number;
  maxVariableBytes: number;
}

export interface VariableChange {
  change: "set" | "deleted";
  variable: Variable;
}

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
/** Events a watcher may fall behind by before its stream is ended. */
const WATCH_BACKLOG = 1_000;

const TYPE_NAMES: Record<VariableType, string> = {
  [VariableType.UNSPECIFIED]: "unspecified",
  [VariableType.STRING]: "string",
  [VariableType.INT]: "int",
  [VariableType.FLOAT]: "float",
  [VariableType.BOOL]: "bool",
  [VariableType.JSON]: "json",
  [VariableType.BYTES]: "bytes",
};

const KIND_TYPES: Record<NonNullable<TypedValue["kind"]["case"]>, VariableType> = {
  stringValue: VariableType.STRING,
  intValue: VariableType.INT,
  floatValue: VariableType.FLOAT,
  boolValue: VariableType.BOOL,
  jsonValue: VariableType.JSON,
  bytesValue: VariableType.BYTES,
};

/** A typed value as JSON, for comparisons with `choices` and for people. */
export function typedValueToJson(value: TypedValue | undefined): JsonValue {
  switch (value?.kind.case) {
    case "stringValue":
    case "floatValue":
    case "boolValue":
      return value.kind.value;
    case "intValue":
      return Number(value.kind.value);
    case "jsonValue":
      return toJson(ValueSchema, value.kind.value);
    case "bytesValue":
      return Buffer.from(value.kind.value).toString("base64");
    default:
      return null;
  }
}

/**
 * A session's variables: typed, constrained, versioned, watchable. Stored in
 * the server so clients and Python tools see the same values.
 */
export class VariableStore {
  private readonly vars = new Map<string, Variable>();
  private readonly watchers = new Set<{ names: Set<string> | undefined; channel: BoundedChannel<VariableChange> }>();

  constructor(private readonly limits: VariableLimits) {}

  get size(): number {
    return this.vars.size;
  }

  get(name: string): Variable {
    const variable = this.vars.get(name);
    if (!variable) throw new PyfleetError("not_found", `no variable "${name}" in this session (see ListVariables)`);
    return variable;
  }

  list(): Variable[] {
    return [...this.vars.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  set(input: SetVariableInput, updatedBy: string): Variable {
    if (!NAME.test(input.name)) {
      throw new PyfleetError("invalid_argument", `name: "${input.name}" is not a valid variable name (1-128 letters, digits, '_', '-', '.')`);
    }
    const current = this.vars.get(input.name);
    checkVersion(input.name, current, input.expectedVersion);
    if (!current && this.vars.size >= this.limits.maxVariables) {
      throw new PyfleetError("resource_exhausted", `the session already has ${this.vars.size} variables (maxVariables); delete some first`);
    }
    const type = resolveType(input, current);
    const value = coerce(input.name, type, input.value);
    const constraints = input.constraints ?? current?.constraints;
    if (constraints) checkConstraints(input.name, type, value, constraints);
    const size = toBinary(TypedValueSchema, value).length;
    if (size > this.limits.maxVariableBytes) {
      throw new PyfleetError("resource_exhausted", `value of "${input.name}" is ${size} bytes; the limit is ${this.limits.maxVariableBytes} (maxVariableBytes)`);
    }
    const variable = create(VariableSchema, {
      name: input.name,
      type,
      value,
      constraints,
      version: (current?.version ?? 0n) + 1n,
      description: input.description || current?.description || "",
      updatedAt: timestampNow(),
      updatedBy,
    });
    this.vars.set(input.name, variable);
    this.notify({ change: "set", variable });
    return variable;
  }

  delete(name: string, expectedVersion?: bigint): Variable {
    const current = this.get(name);
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw new PyfleetError("aborted", `variable "${name}" is at version ${current.version}, not ${expectedVersion}; read it again and retry`);
    }
    this.vars.delete(name);
    this.notify({ change: "deleted", variable: current });
    return current;
  }

  /**
   * Yields every change to the named variables (all when `names` is empty),
   * first their current values if asked, until `signal` aborts or the store
   * closes. A watcher that falls far behind is ended with RESOURCE_EXHAUSTED.
   */
  watch(names: string[], includeInitial: boolean, signal: AbortSignal): AsyncIterable<VariableChange> {
    const filter = names.length > 0 ? new Set(names) : undefined;
    const channel = new BoundedChannel<VariableChange>(WATCH_BACKLOG, () =>
      new PyfleetError("resource_exhausted", `variable watcher fell more than ${WATCH_BACKLOG} changes behind; watch again`));
    const watcher = { names: filter, channel };
    if (includeInitial) {
      for (const variable of this.list()) {
        if (!filter || filter.has(variable.name)) channel.push({ change: "set", variable });
      }
    }
    this.watchers.add(watcher);
    const stop = () => {
      this.watchers.delete(watcher);
      channel.close();
    };
    signal.addEventListener("abort", stop, { once: true });
    channel.onDone(() => {
      this.watchers.delete(watcher);
      signal.removeEventListener("abort", stop);
    });
    return channel;
  }

  /** Ends every watch (the session is gone). */
  close(): void {
    for (const watcher of this.watchers) watcher.channel.close();
    this.watchers.clear();
    this.vars.clear();
  }

  private notify(change: VariableChange) {
    for (const watcher of this.watchers) {
      if (!watcher.names || watcher.names.has(change.variable.name)) watcher.channel.push(change);
    }
  }
}

function checkVersion(name: string, current: Variable | undefined, expected: bigint | undefined) {
  if (expected === undefined) return;
  if (expected === 0n && current) {
    throw new PyfleetError("aborted", `variable "${name}" already exists (version ${current.version}); expected_version 0 means "only if absent"`);
  }
  if (expected !== 0n && current?.version !== expected) {
    throw new PyfleetError("aborted", current
      ? `variable "${name}" is at version ${current.version}, not ${expected}; read it again and retry`
      : `variable "${name}" does not exist, so it cannot be at version ${expected}`);
  }
}

function resolveType(input: SetVariableInput, current: Variable | undefined): VariableType {
  const kind = input.value.kind.case;
  if (!kind) throw new PyfleetError("invalid_argument", `value: a value is required for variable "${input.name}"`);
  const requested = input.type ?? VariableType.UNSPECIFIED;
  if (current) {
    if (requested !== VariableType.UNSPECIFIED && requested !== current.type) {
      throw new PyfleetError("invalid_argument", `type: variable "${input.name}" is ${TYPE_NAMES[current.type]}; its type cannot change to ${TYPE_NAMES[requested]} (delete it first)`);
    }
    return current.type;
  }
  return requested === VariableType.UNSPECIFIED ? KIND_TYPES[kind] : requested;
}

/** The value in the variable's type, widening int to float and plain values to JSON. */
function coerce(name: string, type: VariableType, value: TypedValue): TypedValue {
  const kind = value.kind;
  if (KIND_TYPES[kind.case!] === type) return value;
  if (type === VariableType.FLOAT && kind.case === "intValue") {
    return create(TypedValueSchema, { kind: { case: "floatValue", value: Number(kind.value) } });
  }
  if (type === VariableType.JSON && kind.case !== "bytesValue") {
    return create(TypedValueSchema, { kind: { case: "jsonValue", value: fromJson(ValueSchema, typedValueToJson(value)) } });
  }
  throw new PyfleetError("invalid_argument", `value: variable "${name}" is ${TYPE_NAMES[type]}; got a ${TYPE_NAMES[KIND_TYPES[kind.case!]]} value`);
}

function checkConstraints(name: string, type: VariableType, value: TypedValue, c: Constraints) {
  const fail = (why: string) => {
    throw new PyfleetError("invalid_argument", `value of "${name}" violates its constraints: ${why}`);
  };
  const kind = value.kind;
  const measure =
    kind.case === "intValue" ? Number(kind.value)
    : kind.case === "floatValue" ? kind.value
    : kind.case === "stringValue" ? [...kind.value].length
    : kind.case === "bytesValue" ? kind.value.length
    : undefined;
  const what = type === VariableType.STRING || type === VariableType.BYTES ? "length " : "";
  if (measure !== undefined && c.min !== undefined && measure < c.min) fail(`${what}${measure} is below the minimum ${c.min}`);
  if (measure !== undefined && c.max !== undefined && measure > c.max) fail(`${what}${measure} is above the maximum ${c.max}`);
  if (c.choices.length > 0) {
    const json = JSON.stringify(typedValueToJson(value));
    const allowed = c.choices.map((choice) => JSON.stringify(toJson(ValueSchema, choice)));
    if (!allowed.includes(json)) fail(`${json} is not one of ${allowed.join(", ")}`);
  }
  if (c.pattern !== "" && kind.case === "stringValue") {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${c.pattern})$`, "u");
    } catch (e) {
      throw new PyfleetError("invalid_argument", `constraints.pattern of "${name}" is not a valid regular expression: ${(e as Error).message}`);
    }
    if (!re.test(kind.value)) fail(`"${kind.value}" does not match the pattern /${c.pattern}/`);
  }
}
