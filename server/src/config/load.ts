import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { PyfleetError } from "../errors.js";
import { formatIssues } from "./issues.js";
import { type ServerConfig, type ServerConfigInput, serverConfigSchema } from "./types.js";

/** Fills in every default and checks every key; errors name the key. */
export function resolveConfig(input: ServerConfigInput = {}): ServerConfig {
  const parsed = serverConfigSchema.safeParse(input);
  if (!parsed.success) throw new PyfleetError("invalid_argument", `config: ${formatIssues("", parsed.error.issues)}`);
  const config = parsed.data;
  const names = config.pools.map((p) => p.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new PyfleetError("invalid_argument", `config: pools: two pools are named "${dup}"`);
  if (config.defaultPool !== undefined && config.pools.length > 0 && !names.includes(config.defaultPool)) {
    throw new PyfleetError("invalid_argument", `config: defaultPool: no pool is named "${config.defaultPool}" (pools: ${names.join(", ")})`);
  }
  return config;
}

/**
 * Environment overrides, applied over the file:
 * PYFLEET_HOST, PYFLEET_PORT, PYFLEET_DATA_DIR, PYFLEET_LOG_LEVEL,
 * PYFLEET_API_KEYS ("name:key,name:key"), PYFLEET_WORKER_TOKENS ("t1,t2").
 */
export function applyEnv(input: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = { ...input };
  if (env.PYFLEET_HOST) out.host = env.PYFLEET_HOST;
  if (env.PYFLEET_PORT) {
    const port = Number(env.PYFLEET_PORT);
    if (!Number.isInteger(port)) throw new PyfleetError("invalid_argument", `PYFLEET_PORT must be a port number (got "${env.PYFLEET_PORT}")`);
    out.port = port;
  }
  if (env.PYFLEET_DATA_DIR) out.dataDir = env.PYFLEET_DATA_DIR;
  if (env.PYFLEET_LOG_LEVEL) out.logLevel = env.PYFLEET_LOG_LEVEL;
  const auth = { ...((out.auth as Record<string, unknown> | undefined) ?? {}) };
  if (env.PYFLEET_API_KEYS) {
    auth.apiKeys = env.PYFLEET_API_KEYS.split(",").map((entry, i) => {
      const at = entry.indexOf(":");
      if (at <= 0) throw new PyfleetError("invalid_argument", `PYFLEET_API_KEYS entry ${i + 1} must look like "name:key"`);
      return { name: entry.slice(0, at).trim(), key: entry.slice(at + 1).trim() };
    });
  }
  if (env.PYFLEET_WORKER_TOKENS) auth.workerTokens = env.PYFLEET_WORKER_TOKENS.split(",").map((t) => t.trim()).filter(Boolean);
  if (Object.keys(auth).length > 0) out.auth = auth;
  return out;
}

/** Reads a YAML config file (if any), applies the environment, and resolves it. */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): ServerConfig {
  let input: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new PyfleetError("invalid_argument", `cannot read config file ${file}: ${(e as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (e) {
      throw new PyfleetError("invalid_argument", `config file ${file} is not valid YAML: ${(e as Error).message}`);
    }
    if (doc !== null && doc !== undefined && (typeof doc !== "object" || Array.isArray(doc))) {
      throw new PyfleetError("invalid_argument", `config file ${file} must be a YAML mapping of settings`);
    }
    input = (doc ?? {}) as Record<string, unknown>;
  }
  return resolveConfig({ ...applyEnv(input, env), ...overrides } as ServerConfigInput);
}
