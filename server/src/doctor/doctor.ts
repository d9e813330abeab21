import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join, resolve } from "node:path";
import { createProvider, MANAGED_LABEL, openStore, type ProviderConfig } from "../compute/index.js";
import { ConfigError, loadConfig, type ServerConfig } from "../config/index.js";
import { createLogger } from "../log/index.js";
import { resolvePoolConfig, type PoolConfig } from "../pool/index.js";
import { MIN_PYTHON, probePool, pythonTooOld } from "./probe.js";

export type CheckStatus = "ok" | "warn" | "fail";

/** One finding: what was checked, what was seen, and what to do when it is not ok. */
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorOptions {
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Settings given on the command line (port, host). */
  overrides?: Record<string, unknown>;
  /** Per provider reachability check. */
  providerTimeoutMs?: number;
}

const MIN_NODE = 20;

/**
 * Checks everything `pyfleet serve` needs, without serving: Node, the
 * config, each pool's Python, worker runtime and adapter (fork safety
 * included), the data dir and store, each provider's credentials and
 * reachability, and the listen port. Checks run concurrently.
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<Check[]> {
  const env = options.env ?? process.env;
  const checks: Check[] = [checkNode()];
  let config: ServerConfig;
  try {
    config = loadConfig(options.configFile, env, options.overrides ?? {});
    checks.push({ name: "config", status: "ok", detail: `${options.configFile ?? "embedded defaults (no --config, no $PYFLEET_CONFIG)"}: ${plural(config.pools.length, "pool")}, ${plural(config.compute.providers.length, "provider")}` });
  } catch (e) {
    const issues = e instanceof ConfigError && e.issues.length > 0 ? e.issues.length : 1;
    checks.push({ name: "config", status: "fail", detail: (e as Error).message, fix: `fix the ${plural(issues, "problem")} above (\`pyfleet config check FILE\` rechecks quickly); the other checks need a valid config` });
    return checks;
  }
  const results = await Promise.all([
    ...config.pools.map((p) => checkPool(resolvePoolConfig(p), env)),
    checkDataDirAndStore(config),
    ...config.compute.providers.map((p) => checkProvider(p, config, env, options.providerTimeoutMs ?? 10_000)),
    checkPort(config),
  ]);
  return [...checks, ...results.flat()];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function checkNode(): Check {
  const major = Number(process.versions.node.split(".")[0]);
  return major >= MIN_NODE
    ? { name: "node", status: "ok", detail: `Node ${process.versions.node}` }
    : { name: "node", status: "fail", detail: `Node ${process.versions.node} is too old`, fix: `install Node ${MIN_NODE} or newer (https://nodejs.org)` };
}

async function checkPool(pool: PoolConfig, env: NodeJS.ProcessEnv): Promise<Check[]> {
  const name = `pool ${pool.name}`;
  const r = await probePool(pool, env);
  const pythonFix = `set the pool's \`python\` (or $PYFLEET_PYTHON) to a Python ${MIN_PYTHON.join(".")}+ interpreter that has the worker runtime (pip install pyfleet-worker)`;
  if (r.spawnError) return [{ name: `${name} python`, status: "fail", detail: `cannot run ${pool.python}: ${r.spawnError}${r.stderr ? `\n${r.stderr}` : ""}`, fix: pythonFix }];
  if (r.timedOut) {
    return [{ name: `${name} adapter`, status: "fail", detail: `importing ${pool.adapter} took longer than startupTimeoutMs (${pool.startupTimeoutMs} ms)`, fix: "make the import faster (load models in setup()), or raise the pool's startupTimeoutMs" }];
  }
  const checks: Check[] = [];
  if (pythonTooOld(r.python)) {
    checks.push({ name: `${name} python`, status: "fail", detail: `${r.executable} is Python ${r.python}`, fix: pythonFix });
  } else if (r.runtimeError) {
    checks.push({ name: `${name} python`, status: "fail", detail: `${r.executable} (Python ${r.python}) cannot import the worker runtime pyfleet_bridge: ${r.runtimeError}`, fix: `${r.executable} -m pip install pyfleet-worker (from a checkout: ${r.executable} -m pip install -e python-bridge/worker), or point the pool's \`python\` at an environment that has it` });
  } else {
    checks.push({ name: `${name} python`, status: "ok", detail: `${r.executable} (Python ${r.python}), pyfleet_bridge ${r.runtime}` });
  }
  if (r.runtimeError || checks[0]!.status === "fail") return checks;
  if (r.adapterError) {
    checks.push({
      name: `${name} adapter`,
      status: "fail",
      detail: `${pool.adapter} does not import: ${r.adapterError}${r.traceback ? `\n${r.traceback.trim()}` : ""}`,
      fix: `make \`python -c "import ${pool.adapter.split(":")[0]}"\` work from ${pool.cwd ?? "the server's working directory"} with that Python (install the package, or set the pool's \`cwd\`), and check the class name after ":"`,
    });
    return checks;
  }
  const tools = r.tools ?? [];
  checks.push({ name: `${name} adapter`, status: "ok", detail: `${pool.adapter}: ${plural(tools.length, "tool")} (${tools.join(", ")})` });
  if (r.forkUnsafe) {
    const check: Check = pool.startMode === "fork"
      ? { name: `${name} fork`, status: "fail", detail: `startMode is fork, but forking is unsafe: ${r.forkUnsafe}`, fix: "set the pool's startMode to auto or spawn, or stop the import from starting threads or CUDA (do it in setup())" }
      : pool.startMode === "auto"
        ? { name: `${name} fork`, status: "warn", detail: `workers will be spawned one by one, not forked from a template: ${r.forkUnsafe}`, fix: "each worker pays the whole import; move thread or CUDA start-up into setup() to fork" }
        : { name: `${name} fork`, status: "ok", detail: `startMode spawn (forking would be unsafe: ${r.forkUnsafe})` };
    checks.push(check);
  } else {
    checks.push({ name: `${name} fork`, status: "ok", detail: pool.startMode === "spawn" ? "startMode spawn (forking would also be safe)" : "the import starts no threads and no CUDA: workers fork from a template" });
  }
  return checks;
}

async function checkDataDirAndStore(config: ServerConfig): Promise<Check[]> {
  const dir = resolve(config.dataDir);
  const fix = `set dataDir (or $PYFLEET_DATA_DIR) to a directory this user can write`;
  try {
    const st = statSync(dir, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) return [{ name: "data dir", status: "fail", detail: `${dir} exists and is not a directory`, fix }];
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.doctor-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe);
  } catch (e) {
    return [{ name: "data dir", status: "fail", detail: `${dir} is not writable: ${(e as Error).message}`, fix }];
  }
  const checks: Check[] = [{ name: "data dir", status: "ok", detail: `${dir} is writable` }];
  if (config.store?.startsWith("postgres")) {
    // Never print the URL: it may carry a password.
    try {
      const store = await openStore(config.store, { dataDir: dir, logger: createLogger("silent") });
      await store.close();
      checks.push({ name: "store", status: "ok", detail: "Postgres answers and its schema is current" });
    } catch (e) {
      checks.push({ name: "store", status: "fail", detail: `Postgres (store) does not open: ${(e as Error).message}`, fix: "check the store URL (host, port, user, password, database) and that Postgres accepts connections from this machine" });
    }
    return checks;
  }
  const file = config.store?.startsWith("sqlite:") ? config.store.slice("sqlite:".length) : join(dir, "compute.sqlite");
  try {
    const store = await openStore(`sqlite:${file}`, { dataDir: dir, logger: createLogger("silent") });
    await store.close();
    checks.push({ name: "store", status: "ok", detail: `${file} opens` });
  } catch (e) {
    checks.push({ name: "store", status: "fail", detail: `${file} does not open: ${(e as Error).message}`, fix: "another program may hold it, or it is not a pyfleet store: move it away (the server makes a new one)" });
  }
  return checks;
}

async function checkProvider(p: ProviderConfig, config: ServerConfig, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Check> {
  const name = `provider ${p.name}`;
  // One attempt, no retries: doctor reports the first failure at once.
  const quick = ("retries" in p ? { ...p, retries: 0, timeoutMs: Math.min(p.timeoutMs, timeoutMs) } : p) as ProviderConfig;
  let provider;
  try {
    provider = createProvider(quick, { logger: createLogger("silent"), dataDir: resolve(config.dataDir), python: "python3", env });
  } catch (e) {
    return { name, status: "fail", detail: (e as Error).message, fix: p.kind === "runpod" ? "export RUNPOD_API_KEY (https://www.runpod.io/console/user/settings), or set compute.providers[].apiKey" : "fix the provider's settings" };
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const machines = await Promise.race([
      provider.list({ labels: { [MANAGED_LABEL]: "true" } }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { name, status: "ok", detail: `${p.kind}: reachable, ${plural(machines.length, "managed machine")}` };
  } catch (e) {
    const message = (e as Error).message;
    const auth = /unauthenticated|401|403|api key|permission/i.test(message);
    return {
      name,
      status: "fail",
      detail: `${p.kind}: ${message}`,
      fix: auth ? "the credentials were refused: check the API key" : `check that ${"url" in p ? p.url : "restUrl" in p ? p.restUrl : "the provider"} is reachable from this machine`,
    };
  } finally {
    clearTimeout(timer);
    await provider.close?.().catch(() => undefined);
  }
}

function checkPort(config: ServerConfig): Promise<Check[]> {
  const loopback = config.host === "localhost" || config.host === "::1" || config.host.startsWith("127.");
  const auth: Check[] = config.auth.apiKeys.length > 0
    ? [{ name: "auth", status: "ok", detail: `${plural(config.auth.apiKeys.length, "API key")}` }]
    : [{ name: "auth", status: loopback ? "ok" : "warn", detail: loopback ? "no API keys: only this machine can call the server" : `no API keys: the server binds 127.0.0.1, not ${config.host}`, fix: "add auth.apiKeys (or $PYFLEET_API_KEYS) to serve other machines" }];
  // Without keys the server binds loopback whatever the host says.
  const host = config.auth.apiKeys.length === 0 && !loopback ? "127.0.0.1" : config.host;
  return checkListen(host, config.port).then((c) => [...auth, c]);
}

function checkListen(host: string, port: number): Promise<Check> {
  const config = { host, port };
  const where = `${config.host}:${config.port}`;
  if (config.port === 0) return Promise.resolve({ name: "port", status: "ok", detail: `port 0: the server picks a free port on ${config.host}` });
  return new Promise((done) => {
    const server = net.createServer();
    server.once("error", (e: NodeJS.ErrnoException) => {
      const detail = e.code === "EADDRINUSE" ? `${where} is in use (another pyfleet serve?)` : `cannot listen on ${where}: ${e.message}`;
      done({ name: "port", status: "fail", detail, fix: "stop whatever holds it, or pick another port (port:, $PYFLEET_PORT or --port)" });
    });
    server.listen(config.port, config.host, () => server.close(() => done({ name: "port", status: "ok", detail: `${where} is free` })));
  });
}
