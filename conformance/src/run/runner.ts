import { randomBytes } from "node:crypto";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { durationMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { fromJson, toJson } from "@bufbuild/protobuf";
import { type Case, Credentials, type Expectation, ExpectationSchema, type FieldCheck, type Step, type Suite, TargetKind } from "@pyfleet/protocol/gen/pyfleet/conformance/v1/conformance_pb";
import { type Caller, type CallOutcome, createCaller, type Protocol } from "../rpc/caller.js";
import { CapabilitiesSchema } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { findMethod } from "../rpc/methods.js";
import { findMismatch, getPath, show, substitute } from "./values.js";

export type Target = "server" | "provider";

export interface RunOptions {
  target: Target;
  url: string;
  protocol: Protocol;
  apiKey?: string;
  /** A second tenant's key, for isolation cases. */
  otherApiKey?: string;
  /** Provider job cases: the endpoint to submit to (default "echo") and its input (default {"prompt": "conformance"}). */
  jobEndpoint?: string;
  jobInput?: JsonValue;
  /** Provider spawn cases: the container image machines run (default "python:3.11-slim"). */
  image?: string;
  /** Glob patterns over "suite/case"; a case runs if it matches any (default all). */
  run?: string[];
  skip?: string[];
  /** Patterns of cases that must fail; one that passes is reported stale. */
  knownFailing?: string[];
  parallel?: number;
  /** Called as each case finishes. */
  onResult?: (result: CaseResult) => void;
}

export type Verdict = "passed" | "failed" | "skipped" | "known-failing" | "stale";

export interface StepTrace {
  step: string;
  request: JsonValue | undefined;
  outcome: CallOutcome | { status: number; body: string };
}

export interface CaseResult {
  name: string;
  verdict: Verdict;
  /** For failures: which step and what differed. For skips: why. */
  reason?: string;
  ms: number;
  /** The steps run, with requests and outcomes (for -v). */
  trace: StepTrace[];
}

export interface RunSummary {
  results: CaseResult[];
  passed: number;
  failed: number;
  skipped: number;
  capabilities: string[];
}

class StepFailure extends Error {}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`);
}

function matchesAny(name: string, patterns: string[] | undefined): boolean {
  return (patterns ?? []).some((p) => globToRegExp(p).test(name));
}

const CODE_ALIASES: Record<string, string> = { CANCELLED: "CANCELED" };

function normalizeCode(code: string): string {
  const upper = code.trim().toUpperCase().replace(/[- ]/g, "_");
  return CODE_ALIASES[upper] ?? upper;
}

/** Runs every selected case of `suites` against one target. */
export async function runSuites(suites: Suite[], options: RunOptions): Promise<RunSummary> {
  const caller = createCaller(options.url, options.protocol);
  try {
    const { capabilities, found } = await discoverCapabilities(caller, options);
    const cases = suites.flatMap((suite) => suite.cases.map((c) => ({ suite, c, name: `${suite.name}/${c.name}` })))
      .filter(({ suite, c }) => (c.target || suite.target) === (options.target === "server" ? TargetKind.SERVER : TargetKind.PROVIDER));
    const results: CaseResult[] = new Array(cases.length);
    const runPhase = async (indexes: number[], parallel: number) => {
      let next = 0;
      const worker = async () => {
        for (;;) {
          const index = indexes[next++];
          if (index === undefined) return;
          const { suite, c, name } = cases[index]!;
          const result = await runCase(name, suite, c, caller, capabilities, found, options);
          results[index] = result;
          options.onResult?.(result);
        }
      };
      await Promise.all(Array.from({ length: parallel }, worker));
    };
    // A reset clears the state of every case, so a target that resets runs its cases one at a time.
    const parallel = options.target === "provider" && capabilities.has("reset") ? 1 : Math.max(1, options.parallel ?? 1);
    const all = cases.map((_, i) => i);
    await runPhase(all.filter((i) => !cases[i]!.c.exclusive), parallel);
    await runPhase(all.filter((i) => cases[i]!.c.exclusive), 1);
    const count = (v: Verdict[]) => results.filter((r) => v.includes(r.verdict)).length;
    return {
      results,
      passed: count(["passed", "known-failing"]),
      failed: count(["failed", "stale"]),
      skipped: count(["skipped"]),
      capabilities: [...capabilities].sort(),
    };
  } finally {
    caller.close();
  }
}

async function runCase(name: string, suite: Suite, c: Case, caller: Caller, capabilities: Set<string>, found: ReadonlyMap<string, JsonValue>, options: RunOptions): Promise<CaseResult> {
  const started = performance.now();
  const done = (verdict: Verdict, reason: string | undefined, trace: StepTrace[]): CaseResult => {
    const result: CaseResult = { name, verdict, ms: Math.round(performance.now() - started), trace };
    if (reason !== undefined) result.reason = reason;
    return result;
  };

  if ((options.run?.length ?? 0) > 0 && !matchesAny(name, options.run)) return done("skipped", "not selected by --run", []);
  if (matchesAny(name, options.skip)) return done("skipped", "excluded by --skip", []);
  const missing = [...suite.requires, ...c.requires].filter((need) => !capabilities.has(need));
  if (missing.length > 0) return done("skipped", `target lacks: ${missing.join(", ")}`, []);

  const vars = new Map<string, JsonValue>([
    ["case", name.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 48)],
    ["random", randomBytes(6).toString("hex")],
    ["job_endpoint", options.jobEndpoint ?? "echo"],
    ["job_input", options.jobInput ?? { prompt: "conformance" }],
    ["image", options.image ?? "python:3.11-slim"],
    ...found,
  ]);
  const trace: StepTrace[] = [];
  let failure: string | undefined;
  if (options.target === "provider" && capabilities.has("reset")) {
    const reset = await caller.call({ method: findMethod("ProviderService/Reset"), request: {} });
    if (reset.code !== "OK") failure = `reset failed: ${reset.code} ${reset.message}`;
  }
  if (!failure) {
    for (const [i, step] of c.steps.entries()) {
      try {
        await runStep(step, i, caller, vars, options, trace);
      } catch (e) {
        failure = e instanceof StepFailure ? e.message : `step ${i + 1} (${step.name || step.rpc || "http"}): ${(e as Error).message}`;
        break;
      }
    }
  }
  for (const [i, step] of c.cleanup.entries()) {
    try {
      await runStep(step, i, caller, vars, options, []);
    } catch {
      // Cleanup failures are not the case's verdict.
    }
  }
  const knownFailing = matchesAny(name, options.knownFailing);
  if (knownFailing) {
    return failure ? done("known-failing", failure, trace) : done("stale", "listed as known failing, but it passed: remove it from the list", trace);
  }
  return failure ? done("failed", failure, trace) : done("passed", undefined, trace);
}

function keyFor(credentials: Credentials, options: RunOptions): string | undefined {
  switch (credentials) {
    case Credentials.NONE:
      return undefined;
    case Credentials.INVALID:
      return "pyfleet-conformance-invalid-key-0000";
    case Credentials.OTHER_TENANT:
      return options.otherApiKey;
    default:
      return options.apiKey;
  }
}

async function runStep(step: Step, index: number, caller: Caller, vars: Map<string, JsonValue>, options: RunOptions, trace: StepTrace[]) {
  const label = `step ${index + 1} (${step.name || step.rpc || `${step.http?.method || "POST"} ${step.http?.path}`})`;
  const fail = (why: string): never => {
    throw new StepFailure(`${label}: ${why}`);
  };
  const repeat = Math.max(1, step.repeat);
  for (let round = 0; round < repeat; round++) {
    if (step.http) {
      await runHttp(step, caller, vars, options, trace, fail);
      continue;
    }
    const method = findMethod(step.rpc);
    const request = step.request ? (substitute(step.request, vars) as JsonObject) : undefined;
    const requests = step.requests.map((r) => substitute(r, vars) as JsonObject);
    const timeoutMs = step.timeout ? durationMs(step.timeout) : undefined;
    // The caller treats an undefined field as not given; afterMessages 0 is the proto's "not set".
    const outcome = await caller.call({
      method,
      request,
      requests,
      apiKey: keyFor(step.credentials, options),
      timeoutMs,
      cancelAfterMessages: step.cancel?.afterMessages || undefined,
      cancelAfterMs: step.cancel?.after ? durationMs(step.cancel.after) : undefined,
      pipelined: step.pipelined,
    });
    trace.push({ step: label, request: request ?? requests, outcome });
    // Captures come first so the step's own checks can compare against them.
    const context: JsonValue = method.methodKind === "unary" || method.methodKind === "client_streaming"
      ? (outcome.response ?? null)
      : { messages: outcome.messages, last: outcome.messages.at(-1) ?? null, count: outcome.messages.length, code: outcome.code };
    const uncaptured: string[] = [];
    for (const [name, path] of Object.entries(step.capture)) {
      const value = getPath(context, path);
      if (value === undefined) uncaptured.push(`capture "${name}": nothing at path "${path}" in ${show(context)}`);
      else vars.set(name, value);
    }
    checkOutcome(step.expect, outcome, method.methodKind, vars, fail);
    if (uncaptured.length > 0) fail(uncaptured.join("; "));
  }
}

function checkOutcome(expectation: Expectation | undefined, outcome: CallOutcome, kind: string, vars: Map<string, JsonValue>, fail: (why: string) => never) {
  // Expected values may hold ${placeholders} too.
  const expect = expectation && fromJson(ExpectationSchema, substitute(toJson(ExpectationSchema, expectation), vars));
  const codes = expect?.anyCode.length ? expect.anyCode.map(normalizeCode) : [normalizeCode(expect?.code || "OK")];
  if (!codes.includes(outcome.code)) {
    fail(`expected ${codes.join(" or ")}, got ${outcome.code}${outcome.message ? ` (${outcome.message})` : ""}`);
  }
  if (expect?.messageContains && !outcome.message.toLowerCase().includes(expect.messageContains.toLowerCase())) {
    fail(`expected the error message to contain "${expect.messageContains}", got "${outcome.message}"`);
  }
  if (expect?.toolError) {
    const mismatch = outcome.toolError === undefined ? "." : findMismatch(expect.toolError, outcome.toolError);
    if (mismatch !== undefined) fail(`tool error detail differs at ${mismatch}: expected ${show(expect.toolError)}, got ${show(outcome.toolError)}`);
  }
  if (expect?.response) {
    const mismatch = findMismatch(expect.response, outcome.response);
    if (mismatch !== undefined) {
      fail(`response differs at ${mismatch}: expected ${show(getPath(expect.response, mismatch.split(" ")[0]!))}, got ${show(getPath(outcome.response, mismatch.split(" ")[0]!))}`);
    }
  }
  const streamContext: JsonValue = { messages: outcome.messages, last: outcome.messages.at(-1) ?? null, count: outcome.messages.length };
  const stream = expect?.stream;
  if (stream) {
    const n = outcome.messages.length;
    if (stream.count !== undefined && n !== stream.count) fail(`expected ${stream.count} stream messages, got ${n}`);
    if (stream.minCount !== undefined && n < stream.minCount) fail(`expected at least ${stream.minCount} stream messages, got ${n}`);
    if (stream.maxCount !== undefined && n > stream.maxCount) fail(`expected at most ${stream.maxCount} stream messages, got ${n}`);
    if (stream.anyOrder) {
      const unused = [...outcome.messages];
      for (const [i, expected] of stream.messages.entries()) {
        const at = unused.findIndex((m) => findMismatch(expected, m) === undefined);
        if (at < 0) fail(`no stream message matches expected message ${i + 1}: ${show(expected)}`);
        unused.splice(at, 1);
      }
    } else {
      for (const [i, expected] of stream.messages.entries()) {
        const mismatch = findMismatch(expected, outcome.messages[i]);
        if (mismatch !== undefined) fail(`stream message ${i + 1} differs at ${mismatch}: expected ${show(expected)}, got ${show(outcome.messages[i])}`);
      }
    }
    if (stream.last) {
      const mismatch = findMismatch(stream.last, outcome.messages.at(-1));
      if (mismatch !== undefined) fail(`last stream message differs at ${mismatch}: expected ${show(stream.last)}, got ${show(outcome.messages.at(-1))}`);
    }
  }
  const checkRoot = kind === "unary" || kind === "client_streaming" ? outcome.response : streamContext;
  for (const check of expect?.checks ?? []) runCheck(check, checkRoot, vars, fail);
}

function runCheck(check: FieldCheck, root: JsonValue | undefined, vars: Map<string, JsonValue>, fail: (why: string) => never) {
  const value = getPath(root ?? null, check.path);
  const at = `"${check.path}"`;
  const c = check.check;
  switch (c.case) {
    case "equals": {
      const expected = toJson(ValueSchema, c.value);
      if (findMismatch(expected, value) !== undefined || findMismatch(value ?? null, expected) !== undefined) fail(`${at} is ${show(value)}, expected ${show(expected)}`);
      return;
    }
    case "present": {
      const empty = value === undefined || value === null || value === "" || value === 0 || value === "0" || value === false
        || (Array.isArray(value) && value.length === 0) || (typeof value === "object" && value !== null && Object.keys(value).length === 0);
      if (c.value === empty) fail(`${at} is ${show(value)}; expected it ${c.value ? "present" : "absent or empty"}`);
      return;
    }
    case "greaterThan":
      if (!(Number(value) > c.value)) fail(`${at} is ${show(value)}, expected more than ${c.value}`);
      return;
    case "lessThan":
      if (!(Number(value) < c.value)) fail(`${at} is ${show(value)}, expected less than ${c.value}`);
      return;
    case "matches":
      if (typeof value !== "string" || !new RegExp(c.value).test(value)) fail(`${at} is ${show(value)}, expected to match /${c.value}/`);
      return;
    case "equalsCaptured": {
      const captured = vars.get(c.value);
      if (captured === undefined) fail(`${at}: nothing was captured as "${c.value}"`);
      if (findMismatch(captured!, value) !== undefined) fail(`${at} is ${show(value)}, expected the captured ${c.value} = ${show(captured)}`);
      return;
    }
    case "differsFromCaptured": {
      const captured = vars.get(c.value);
      if (captured === undefined) fail(`${at}: nothing was captured as "${c.value}"`);
      if (findMismatch(captured!, value) === undefined) fail(`${at} is ${show(value)}, expected it to differ from the captured ${c.value}`);
      return;
    }
    case "contains": {
      const expected = toJson(ValueSchema, c.value);
      if (!Array.isArray(value)) fail(`${at} is ${show(value)}, expected an array`);
      if (!(value as JsonValue[]).some((v) => findMismatch(expected, v) === undefined)) fail(`${at} has no element matching ${show(expected)}: ${show(value)}`);
      return;
    }
    case "containsCaptured":
    case "lacksCaptured": {
      const captured = vars.get(c.value);
      if (captured === undefined) fail(`${at}: nothing was captured as "${c.value}"`);
      if (!Array.isArray(value)) fail(`${at} is ${show(value)}, expected an array`);
      const holds = (value as JsonValue[]).some((v) => findMismatch(captured!, v) === undefined);
      if (holds !== (c.case === "containsCaptured")) fail(`${at} ${holds ? "holds" : "lacks"} the captured ${c.value} = ${show(captured)}: ${show(value)}`);
      return;
    }
    case "laterThanCaptured": {
      const captured = vars.get(c.value);
      if (captured === undefined) fail(`${at}: nothing was captured as "${c.value}"`);
      const [before, after] = [ordinal(captured!), ordinal(value)];
      if (before === undefined || after === undefined) fail(`${at} is ${show(value)} and the captured ${c.value} is ${show(captured)}: expected two timestamps or two numbers`);
      if (!(after! > before!)) fail(`${at} is ${show(value)}, expected later than the captured ${c.value} = ${show(captured)}`);
      return;
    }
    case "length":
      if (!Array.isArray(value) || value.length !== c.value) fail(`${at} has ${Array.isArray(value) ? value.length : "no"} elements, expected ${c.value}`);
      return;
    default:
      fail(`${at}: the check has no condition`);
  }
}

/** A number, or an RFC 3339 timestamp as epoch nanoseconds (Date keeps only milliseconds), for ordering. */
function ordinal(value: JsonValue | undefined): bigint | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return BigInt(Math.round(value * 1e9));
  if (typeof value !== "string") return undefined;
  if (/^-?\d+(\.\d+)?$/.test(value)) return BigInt(Math.round(Number(value) * 1e9));
  const m = /^(.*?:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(value);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  if (!m || Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0"));
}

async function runHttp(step: Step, _caller: Caller, vars: Map<string, JsonValue>, options: RunOptions, trace: StepTrace[], fail: (why: string) => never) {
  const http = step.http!;
  const headers: Record<string, string> = { ...http.headers };
  const key = keyFor(step.credentials, options);
  if (key && !headers.authorization) headers.authorization = `Bearer ${key}`;
  const body = http.bodyBase64 ? Buffer.from(http.bodyBase64, "base64") : (substitute(http.body, vars) as string);
  const method = http.method || "POST";
  const res = await fetch(new URL(http.path, options.url), {
    method,
    headers,
    body: method === "GET" || method === "HEAD" ? undefined : body,
    signal: AbortSignal.timeout(step.timeout ? durationMs(step.timeout) : 30_000),
  });
  const text = await res.text();
  trace.push({ step: step.name || `${method} ${http.path}`, request: { ...headers, body: String(body).slice(0, 200) }, outcome: { status: res.status, body: text.slice(0, 2000) } });
  const expect = step.expect;
  if (expect?.httpStatus && res.status !== expect.httpStatus) fail(`expected HTTP ${expect.httpStatus}, got ${res.status}: ${text.slice(0, 200)}`);
  if (expect?.bodyContains && !text.includes(expect.bodyContains)) fail(`expected the body to contain "${expect.bodyContains}", got ${text.slice(0, 200)}`);
}

/** The sample adapter's tools, by which a pool is known to run it. */
const SAMPLE_TOOLS = ["echo", "add", "count", "sleep", "fail", "counter", "getvar", "setvar", "pid"];

/**
 * What the target declares or demonstrably offers, as capability names cases
 * can require, and values found on the way that cases name as placeholders
 * (`${single_pool}`).
 */
async function discoverCapabilities(caller: Caller, options: RunOptions): Promise<{ capabilities: Set<string>; found: Map<string, JsonValue> }> {
  const caps = new Set<string>();
  const found = new Map<string, JsonValue>();
  const call = (rpc: string, request: JsonObject = {}, apiKey = options.apiKey) =>
    caller.call({ method: findMethod(rpc), request, apiKey, timeoutMs: 10_000 });
  if (options.target === "provider") {
    const res = await call("ProviderService/GetCapabilities");
    if (res.code !== "OK") throw new Error(`the provider did not answer GetCapabilities: ${res.code} ${res.message}`);
    caps.add("provider");
    const declared = (getPath(res.response, "capabilities") ?? {}) as Record<string, JsonValue>;
    // Declared capabilities by name ("stop_start"), and missing ones as "no_stop_start" for the UNIMPLEMENTED cases.
    for (const field of CapabilitiesSchema.fields) caps.add(declared[field.jsonName] === true ? field.name : `no_${field.name}`);
    return { capabilities: caps, found };
  }
  caps.add("server");
  const health = await call("grpc.health.v1.Health/Check");
  if (health.code === "OK") caps.add("health");
  const pools = await call("PoolService/ListPools");
  if (pools.code === "OK") caps.add("pool");
  const tools = await call("PoolService/ListTools");
  const names = ((getPath(tools.response, "tools") ?? []) as JsonObject[]).map((t) => t.name);
  if (SAMPLE_TOOLS.every((t) => names.includes(t))) caps.add("pool.sample");
  const poolList = (getPath(pools.response, "pools") ?? []) as JsonObject[];
  if (poolList.some((p) => p.name === "default")) caps.add("pool.default");
  // A pool of one worker running one call at a time: a call after a cancelled one must run on that same worker, so a stuck worker fails it.
  for (const pool of poolList.filter((p) => Number(p.size) === 1 && Number(p.concurrency) === 1)) {
    const poolTools = await call("PoolService/ListTools", { pool: String(pool.name) });
    if (!SAMPLE_TOOLS.every((t) => ((getPath(poolTools.response, "tools") ?? []) as JsonObject[]).some((tool) => tool.name === t))) continue;
    caps.add("pool.single");
    found.set("single_pool", String(pool.name));
    break;
  }
  const providers = await call("ComputeService/ListProviders");
  if (providers.code === "OK") {
    caps.add("compute");
    for (const p of (getPath(providers.response, "providers") ?? []) as JsonObject[]) caps.add(`provider.${String(p.name)}`);
  }
  if (options.apiKey) {
    const anonymous = await caller.call({ method: findMethod("PoolService/ListPools"), request: {}, timeoutMs: 10_000 });
    if (anonymous.code === "UNAUTHENTICATED") caps.add("auth");
    if (options.otherApiKey) caps.add("auth.two_tenants");
  } else if (pools.code === "OK") {
    caps.add("no_auth");
  }
  caps.add("reflection");
  return { capabilities: caps, found };
}
