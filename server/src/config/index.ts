export { defaults, poolDefaults } from "./defaults.js";
export { formatIssues } from "./issues.js";
export { applyEnv, loadConfig, resolveConfig } from "./load.js";
export { logLevels, serverConfigSchema, type LogLevel, type ServerConfig, type ServerConfigInput } from "./types.js";
