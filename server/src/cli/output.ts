import type { PyfleetError } from "@pyfleet/sdk";

/**
 * By name rather than instanceof: the CLI loads the SDK only when a command
 * runs, and the server and the SDK may each hold their own copy of the class.
 */
export function isPyfleetError(e: unknown): e is PyfleetError {
  return e instanceof Error && e.name === "PyfleetError" && typeof (e as { code?: unknown }).code === "string";
}

/** Exit codes by error class, so scripts can tell what went wrong. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  rejected: 4,
  auth: 5,
  unavailable: 6,
  exhausted: 7,
  toolRaised: 8,
} as const;

function exitCodeFor(e: unknown): number {
  if (!isPyfleetError(e)) return EXIT.failed;
  if (e.toolError) return EXIT.toolRaised;
  switch (e.code) {
    case "not_found":
      return EXIT.notFound;
    case "invalid_argument":
    case "failed_precondition":
    case "already_exists":
    case "out_of_range":
      return EXIT.rejected;
    case "unauthenticated":
    case "permission_denied":
      return EXIT.auth;
    case "unavailable":
    case "deadline_exceeded":
    case "canceled":
    case "aborted":
      return EXIT.unavailable;
    case "resource_exhausted":
      return EXIT.exhausted;
    default:
      return EXIT.failed;
  }
}

/** JSON that survives bigints (64-bit counters) and bytes. */
export function toJsonText(value: unknown, pretty = true): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v), pretty ? 2 : undefined);
}

/** Aligned columns for people; `--json` output bypasses this. */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return "(none)";
  const cell = (v: unknown) => (v === undefined || v === null ? "" : typeof v === "object" ? toJsonText(v, false) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join("\n");
}

/** Reports an error the way people and scripts both need it, and sets the exit code. */
export function reportError(e: unknown, json: boolean): number {
  const code = exitCodeFor(e);
  if (json) {
    const err = isPyfleetError(e) ? { code: e.code, message: e.message, toolError: e.toolError } : { code: "failed", message: String(e) };
    process.stderr.write(`${toJsonText({ error: err })}\n`);
  } else if (isPyfleetError(e)) {
    process.stderr.write(`error (${e.code}): ${e.message}\n`);
    if (e.toolError?.traceback) process.stderr.write(`\n${e.toolError.traceback}\n`);
  } else {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  }
  return code;
}
