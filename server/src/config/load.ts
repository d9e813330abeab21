import { PyfleetError } from "../errors.js";
import { type ConfigIssue, describeIssue, toConfigIssues } from "./issues.js";
import { ConfigError, ConfigSource, formatLocated, type LocatedIssue } from "./source.js";
import { type ServerConfig, type ServerConfigInput, serverConfigSchema } from "./types.js";

/** Every problem of a configuration at once (schema, then cross-key rules), or the resolved config. */
export function validateConfig(input: unknown): { config: ServerConfig; issues?: never } | { config?: never; issues: ConfigIssue[] } {
  const parsed = serverConfigSchema.safeParse(input);
  if (!parsed.success) return { issues: toConfigIssues(parsed.error.issues) };
  const config = parsed.data;
  const issues: ConfigIssue[] = [];
  const names = config.pools.map((p) => p.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) issues.push({ path: ["pools", i, "name"], message: `two pools are named "${n}"` });
  });
  if (config.defaultPool !== undefined && config.pools.length > 0 && !names.includes(config.defaultPool)) {
    issues.push({ path: ["defaultPool"], message: `no pool is named "${config.defaultPool}" (pools: ${names.join(", ")})` });
  }
  const providers = config.compute.providers.map((p) => p.name);
  providers.forEach((n, i) => {
    if (providers.indexOf(n) !== i) issues.push({ path: ["compute", "providers", i, "name"], message: `two providers are named "${n}"` });
  });
  return issues.length > 0 ? { issues } : { config };
}

/** Fills in every default and checks every key; errors name the key. */
export function resolveConfig(input: ServerConfigInput = {}): ServerConfig {
  const checked = validateConfig(input);
  if (checked.issues) throw new ConfigError(`config: ${checked.issues.map(describeIssue).join("; ")}`, checked.issues);
  return checked.config;
}

/** The environment variables that set keys, so a bad value names its variable rather than the file. */
const ENV_KEYS: [variable: string, path: string[]][] = [
  ["PYFLEET_HOST", ["host"]],
  ["PYFLEET_PORT", ["port"]],
  ["PYFLEET_DATA_DIR", ["dataDir"]],
  ["PYFLEET_PUBLIC_URL", ["publicUrl"]],
  ["PYFLEET_REPLICA_URL", ["replicaUrl"]],
  ["PYFLEET_LOG_LEVEL", ["logLevel"]],
  ["PYFLEET_API_KEYS", ["auth", "apiKeys"]],
  ["PYFLEET_WORKER_TOKENS", ["auth", "workerTokens"]],
  ["PYFLEET_CORS_ORIGINS", ["cors", "allowedOrigins"]],
  ["PYFLEET_OTLP_ENDPOINT", ["telemetry", "otlpEndpoint"]],
  ["OTEL_EXPORTER_OTLP_ENDPOINT", ["telemetry", "otlpEndpoint"]],
];

/**
 * Environment overrides, applied over the file:
 * PYFLEET_HOST, PYFLEET_PORT, PYFLEET_DATA_DIR, PYFLEET_PUBLIC_URL, PYFLEET_REPLICA_URL, PYFLEET_STORE, PYFLEET_LOG_LEVEL,
 * PYFLEET_API_KEYS ("name:key,name:key"), PYFLEET_WORKER_TOKENS ("t1,t2"),
 * PYFLEET_CORS_ORIGINS ("https://a.example,https://b.example"),
 * PYFLEET_OTLP_ENDPOINT (else OpenTelemetry's own OTEL_EXPORTER_OTLP_ENDPOINT).
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
  if (env.PYFLEET_PUBLIC_URL) out.publicUrl = env.PYFLEET_PUBLIC_URL;
  if (env.PYFLEET_REPLICA_URL) out.replicaUrl = env.PYFLEET_REPLICA_URL;
  if (env.PYFLEET_STORE) out.store = env.PYFLEET_STORE;
  if (env.PYFLEET_LOG_LEVEL) out.logLevel = env.PYFLEET_LOG_LEVEL;
  const auth = { ...((out.auth as Record<string, unknown> | undefined) ?? {}) };
  if (env.PYFLEET_API_KEYS) {
    auth.apiKeys = env.PYFLEET_API_KEYS.split(",").map((entry, i) => {
      const at = entry.indexOf(":");
      if (at <= 0) throw new PyfleetError("invalid_argument", `PYFLEET_API_KEYS entry ${i + 1} must look like "name:key"`);
      return { name: entry.slice(0, at).trim(), key: entry.slice(at + 1).trim() };
    });
  }
  if (env.PYFLEET_CORS_ORIGINS) {
    out.cors = { ...((out.cors as Record<string, unknown> | undefined) ?? {}), allowedOrigins: env.PYFLEET_CORS_ORIGINS.split(",").map((o) => o.trim()).filter(Boolean) };
  }
  // OpenTelemetry's standard variable turns tracing on too, as operators of an OTel setup expect; ours wins.
  const otlp = env.PYFLEET_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (otlp) out.telemetry = { ...((out.telemetry as Record<string, unknown> | undefined) ?? {}), otlpEndpoint: otlp };
  if (env.PYFLEET_WORKER_TOKENS) auth.workerTokens = env.PYFLEET_WORKER_TOKENS.split(",").map((t) => t.trim()).filter(Boolean);
  if (Object.keys(auth).length > 0) out.auth = auth;
  return out;
}

/**
 * Reads a YAML config file (if any), applies the environment, and resolves it.
 * Problems come back as one ConfigError naming each key with its place in
 * the file (`pyfleet.yaml:4:5`), or the variable or flag that set it.
 */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): ServerConfig {
  const source = file === undefined ? undefined : ConfigSource.read(file);
  const checked = validateConfig({ ...applyEnv(source?.value ?? {}, env), ...overrides });
  if (!checked.issues) return checked.config;
  const located = checked.issues.map((issue): LocatedIssue => {
    const startsWith = (prefix: readonly string[]) => prefix.every((part, i) => issue.path[i] === part);
    const variable = ENV_KEYS.find(([name, path]) => env[name] && startsWith(path));
    if (variable) return { ...issue, where: `$${variable[0]}` };
    if (typeof issue.path[0] === "string" && issue.path[0] in overrides) return { ...issue, where: "command line" };
    return source ? source.locate(issue) : issue;
  }).sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  const what = file === undefined ? "config" : `config file ${file}`;
  const message = located.length === 1
    ? (located[0]!.where ? formatLocated(located[0]!) : `${what}: ${formatLocated(located[0]!)}`)
    : `${what} has ${located.length} problems:\n${located.map((i) => `  ${formatLocated(i)}`).join("\n")}`;
  throw new ConfigError(message, located);
}
