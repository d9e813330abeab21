export { computeDefaults, defaults, logsDefaults, poolDefaults, telemetryDefaults } from "./defaults.js";
export { type ConfigIssue, describeIssue, formatIssues, keyName } from "./issues.js";
export { ConfigError, type LocatedIssue } from "./source.js";
export { applyEnv, loadConfig, resolveConfig, validateConfig } from "./load.js";
export { serverConfigSchema, type ServerConfig, type ServerConfigInput } from "./types.js";
export { configJsonSchema, configJsonSchemaText } from "./schema.js";
