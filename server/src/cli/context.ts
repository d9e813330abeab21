import type { PyfleetClient } from "@pyfleet/sdk/node";
import type { Command } from "commander";
import { EXIT, reportError, toJsonText } from "./output.js";

/** The options every client command takes (on the program). */
export interface GlobalOptions {
  url: string;
  apiKey?: string;
  json?: boolean;
  protocol: "connect" | "grpc" | "grpc-web";
}

export class UsageError extends Error {}

export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

// The SDK (and Connect and protobuf under it) loads when a command runs, not
// for `--help` or `--version`: see run(). It is most of the CLI's start time.
let sdk: typeof import("@pyfleet/sdk/node") | undefined;
let spinners: typeof import("yocto-spinner") | undefined;

export function client(opts: GlobalOptions): PyfleetClient {
  if (!sdk) throw new Error("internal: client() before run() loaded the SDK");
  return sdk.createClient({ baseUrl: opts.url, protocol: opts.protocol, apiKey: opts.apiKey });
}

/** Parses a --args/--input value: JSON, or usage error naming the flag. */
export function parseJson(text: string | undefined, flag: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UsageError(`${flag} must be JSON (got ${JSON.stringify(text)}): ${(e as Error).message}`);
  }
}

export function parseObject(text: string | undefined, flag: string): Record<string, unknown> {
  const value = parseJson(text, flag) ?? {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`${flag} must be a JSON object, e.g. '{"x": 1}'`);
  return value as Record<string, unknown>;
}

/** Parses repeated KEY=VALUE flags. */
export function keyValues(pairs: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`${flag} takes KEY=VALUE (got "${pair}")`);
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

/** Stops a long-running command cleanly on Ctrl-C (cancelling the call on the server). */
export function interruptible(): AbortSignal {
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort());
  return abort.signal;
}

/** A flag given in seconds, as milliseconds (undefined when not given). */
export function secondsAsMs(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a number of seconds (got "${text}")`);
  return n * 1000;
}

/** Prints a result: JSON with --json, else the human form. */
export function print(opts: GlobalOptions, value: unknown, human?: () => string): void {
  process.stdout.write(`${opts.json || !human ? toJsonText(value) : human()}\n`);
}

/** A status spinner on a terminal (stderr), nothing otherwise. */
export function spinner(opts: GlobalOptions, text: string) {
  const enabled = process.stderr.isTTY && !opts.json;
  const s = enabled && spinners ? spinners.default({ text, stream: process.stderr }).start() : undefined;
  return {
    update(next: string) {
      if (s) s.text = next;
    },
    done(final: string, ok = true) {
      if (s) (ok ? s.success(final) : s.error(final));
    },
  };
}

/** Wraps a command action: errors become messages and exit codes by class. */
export function run(action: (...args: never[]) => Promise<void>) {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const opts = globals(command);
    try {
      [sdk, spinners] = await Promise.all([sdk ?? import("@pyfleet/sdk/node"), spinners ?? import("yocto-spinner")]);
      await (action as (...a: unknown[]) => Promise<void>)(...args);
    } catch (e) {
      if (e instanceof UsageError) {
        process.stderr.write(`error: ${e.message}\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      process.exitCode = reportError(e, opts.json ?? false);
    }
  };
}
