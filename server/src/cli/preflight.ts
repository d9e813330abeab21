import { resolve } from "node:path";
import type { ServerConfig } from "../config/index.js";
import { MIN_PYTHON, probePool, type ProbeResult, pythonTooOld } from "../doctor/index.js";
import { PyfleetError } from "../errors.js";
import { type PoolConfig, resolvePoolConfig } from "../pool/index.js";
import { SERVER_VERSION } from "../version.js";

/** The Python distribution of the worker runtime (import name pyfleet_bridge), at this server's version. */
const WORKER_REQUIREMENT = `pyfleet-worker==${SERVER_VERSION}`;


/**
 * Before `pyfleet serve` listens: each pool's Python must import the worker
 * runtime and the pool's adapter, as its workers will. Otherwise the server
 * refuses to start, and the message holds the command that fixes it.
 */
export async function checkPoolPythons(config: ServerConfig, env: NodeJS.ProcessEnv): Promise<void> {
  const pools = config.pools.map((p) => resolvePoolConfig(p)).filter((p) => p.maxSize > 0);
  const problems = await Promise.all(pools.map(async (pool) => problemOf(pool, await probePool(pool, env))));
  const found = problems.filter((p): p is string => p !== undefined);
  if (found.length > 0) throw new PyfleetError("failed_precondition", `cannot start: ${found.join("\n\n")}`);
}

function problemOf(pool: PoolConfig, r: ProbeResult): string | undefined {
  const which = `pool "${pool.name}"`;
  const choose = "or set the pool's `python` (or $PYFLEET_PYTHON) to a Python that has it.";
  if (r.spawnError) {
    return `${which}: cannot run its Python "${pool.python}": ${r.spawnError}\n`
      + `Make a Python ${MIN_PYTHON.join(".")}+ environment with the worker runtime and point the pool at it:\n`
      + `  python3 -m venv .venv && .venv/bin/python -m pip install '${WORKER_REQUIREMENT}'\n`
      + "  then set the pool's `python` (or $PYFLEET_PYTHON) to .venv/bin/python";
  }
  if (r.timedOut) return `${which}: importing ${pool.adapter} took longer than startupTimeoutMs (${pool.startupTimeoutMs} ms); load heavy things in setup(), or raise startupTimeoutMs.`;
  const executable = r.executable ?? pool.python;
  if (pythonTooOld(r.python)) {
    return `${which}: ${executable} is Python ${r.python}; the worker runtime needs Python ${MIN_PYTHON.join(".")}+. Set the pool's \`python\` (or $PYFLEET_PYTHON) to a newer one.`;
  }
  if (r.runtimeError) {
    return `${which}: ${executable} (Python ${r.python}) cannot import the worker runtime pyfleet_bridge (${r.runtimeError}). Install it:\n`
      + `  ${executable} -m pip install '${WORKER_REQUIREMENT}'\n${choose}`;
  }
  if (r.adapterError) {
    const module = pool.adapter.split(":")[0]!;
    return `${which}: its adapter ${pool.adapter} does not import with ${executable}: ${r.adapterError}\n`
      + `Install the package that provides "${module}" into that Python (${executable} -m pip install <your package>), `
      + `or set the pool's \`cwd\` to the directory that holds it (now: ${pool.cwd ? resolve(pool.cwd) : process.cwd()}).`
      + `${r.traceback ? `\n${r.traceback.trim()}` : ""}`;
  }
  return undefined;
}
