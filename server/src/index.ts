export { createServer, type CreateServerOptions, type PyfleetServer } from "./server.js";
export { defaults, loadConfig, poolDefaults, resolveConfig, type ServerConfig, type ServerConfigInput } from "./config/index.js";
export { PyfleetError, type ErrorCode } from "./errors.js";
export { createPool, type Pool, type PoolConfig, type PoolConfigInput } from "./pool/index.js";
export { KubernetesProvider, LocalProvider, MockProvider, Orchestrator, RemoteProvider, RunPodProvider, type Provider } from "./compute/index.js";
export { serveProvider, type ProviderServer } from "./provider-server.js";
