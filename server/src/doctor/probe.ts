import { resolve } from "node:path";
import { execa } from "execa";
import type { PoolConfig } from "../pool/index.js";

/** The oldest Python the worker runtime runs on. */
export const MIN_PYTHON = [3, 10] as const;

/**
 * Run with a pool's Python, in the pool's directory and environment, exactly
 * as a worker would import: the worker runtime, then the adapter, counting
 * the threads the import starts (the fork-safety rule the template uses).
 * It reports on one marked line, so whatever the adapter prints is ignored,
 * and leaves with os._exit so threads the adapter started cannot hold it.
 */
const PROBE = String.raw`
import json, os, sys, traceback
out = {"python": "%d.%d.%d" % sys.version_info[:3], "executable": sys.executable}
def done():
    sys.stdout.write("\n@@pyfleet-doctor@@" + json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)
try:
    import pyfleet_bridge
    from pyfleet_bridge.adapter import collect_tools, load_adapter_class
    from pyfleet_bridge.template import fork_unsafe_reason, thread_count
    out["runtime"] = getattr(pyfleet_bridge, "__version__", "unknown")
except BaseException as e:
    out["runtimeError"] = "%s: %s" % (type(e).__name__, e)
    done()
before = thread_count()
try:
    cls = load_adapter_class(sys.argv[1])
    out["tools"] = sorted(collect_tools(cls))
    out["forkUnsafe"] = fork_unsafe_reason(thread_count() - before)
except BaseException as e:
    out["adapterError"] = "".join(traceback.format_exception_only(type(e), e)).strip()
    out["traceback"] = traceback.format_exc()
done()
`;

export interface ProbeResult {
  /** Could not run the interpreter at all. */
  spawnError?: string;
  python?: string;
  executable?: string;
  runtime?: string;
  runtimeError?: string;
  tools?: string[];
  /** "" when forking workers from a template is safe. */
  forkUnsafe?: string;
  adapterError?: string;
  traceback?: string;
  /** The probe ran past the pool's startup timeout. */
  timedOut?: boolean;
  stderr?: string;
}

const MARK = "@@pyfleet-doctor@@";

/** Imports a pool's adapter the way its workers will, and says what happened. */
async function probeAdapter(python: string, adapter: string, options: { cwd?: string; env?: Record<string, string>; timeoutMs: number }): Promise<ProbeResult> {
  const r = await execa(python, ["-c", PROBE, adapter], {
    reject: false,
    timeout: options.timeoutMs,
    env: { ...options.env, PYTHONUNBUFFERED: "1" },
    cwd: options.cwd,
    stdin: "ignore",
  });
  if (r.timedOut) return { timedOut: true, stderr: tail(r.stderr) };
  if (r.failed && r.exitCode === undefined) return { spawnError: r.shortMessage };
  const line = r.stdout.split("\n").find((l) => l.startsWith(MARK));
  if (!line) return { spawnError: `${python} exited with ${r.exitCode} before reporting`, stderr: tail(r.stderr) };
  return { ...(JSON.parse(line.slice(MARK.length)) as ProbeResult), stderr: tail(r.stderr) };
}

function tail(text: string | undefined): string {
  return (text ?? "").split("\n").slice(-15).join("\n").trim();
}

/** Probes a pool's Python as its workers run: in the pool's directory, with its environment over `env`, within its start-up timeout. */
export function probePool(pool: PoolConfig, env: NodeJS.ProcessEnv): Promise<ProbeResult> {
  return probeAdapter(pool.python, pool.adapter, {
    env: { ...(env as Record<string, string>), ...pool.env },
    cwd: pool.cwd ? resolve(pool.cwd) : undefined,
    timeoutMs: pool.startupTimeoutMs,
  });
}

/** Whether a probe's Python version ("3.9.18") is older than MIN_PYTHON. */
export function pythonTooOld(version: string | undefined): boolean {
  const [major = 0, minor = 0] = (version ?? "0.0").split(".").map(Number);
  return major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1]);
}
