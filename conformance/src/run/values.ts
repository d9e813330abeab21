import type { JsonValue } from "@bufbuild/protobuf";

/** The value at a dotted path ("session.id", "messages.0.chunk"), or undefined. */
export function getPath(root: JsonValue | undefined, path: string): JsonValue | undefined {
  if (path === "" || path === ".") return root;
  return walk(root, path.split("."));
}

/** `*` maps the rest of the path over an array's elements, dropping those without a value. */
function walk(current: JsonValue | undefined, parts: string[]): JsonValue | undefined {
  for (const [i, part] of parts.entries()) {
    if (current === null || current === undefined || typeof current !== "object") return undefined;
    if (part === "*") {
      if (!Array.isArray(current)) return undefined;
      const rest = parts.slice(i + 1);
      return current.map((item) => walk(item, rest)).filter((v): v is JsonValue => v !== undefined);
    }
    current = Array.isArray(current) ? current[Number(part)] : current[part];
  }
  return current;
}

/** Numbers and numeric strings compare equal: proto JSON writes 64-bit integers as strings. */
function sameScalar(expected: JsonValue, actual: JsonValue | undefined): boolean {
  if (expected === actual) return true;
  if ((typeof expected === "number" || typeof expected === "string") && (typeof actual === "number" || typeof actual === "string")) {
    return expected !== "" && actual !== "" && Number(expected) === Number(actual) && !Number.isNaN(Number(expected));
  }
  return false;
}

/**
 * Whether `actual` contains `expected`: objects match as subsets, arrays
 * element by element (same length), scalars by value. Returns the path of
 * the first difference, or undefined when it matches.
 */
export function findMismatch(expected: JsonValue, actual: JsonValue | undefined, path = ""): string | undefined {
  if (expected !== null && typeof expected === "object") {
    if (Array.isArray(expected)) {
      if (!Array.isArray(actual)) return path || ".";
      if (actual.length !== expected.length) return `${path || "."} (length ${actual.length}, expected ${expected.length})`;
      for (let i = 0; i < expected.length; i++) {
        const m = findMismatch(expected[i]!, actual[i], path ? `${path}.${i}` : String(i));
        if (m !== undefined) return m;
      }
      return undefined;
    }
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return path || ".";
    for (const [key, value] of Object.entries(expected)) {
      const m = findMismatch(value, actual[key], path ? `${path}.${key}` : key);
      if (m !== undefined) return m;
    }
    return undefined;
  }
  return sameScalar(expected, actual) ? undefined : path || ".";
}

/** Replaces `${name}` in every string of a JSON value; a string that is only a placeholder takes the value's type. */
export function substitute(value: JsonValue, vars: ReadonlyMap<string, JsonValue>): JsonValue {
  if (typeof value === "string") {
    const whole = /^\$\{([\w.-]+)\}$/.exec(value);
    if (whole) {
      const found = vars.get(whole[1]!);
      if (found === undefined) throw new Error(`placeholder \${${whole[1]}} has no value (capture it in an earlier step)`);
      return found;
    }
    return value.replace(/\$\{([\w.-]+)\}/g, (_, name: string) => {
      const found = vars.get(name);
      if (found === undefined) throw new Error(`placeholder \${${name}} has no value (capture it in an earlier step)`);
      return typeof found === "string" ? found : JSON.stringify(found);
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars)]));
  }
  return value;
}

export function show(value: JsonValue | undefined): string {
  const text = JSON.stringify(value);
  return text === undefined ? "undefined" : text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
