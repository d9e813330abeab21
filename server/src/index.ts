export { createServer, type CreateServerOptions, type PyfleetServer } from "./server.js";
export { defaults, resolveConfig, type ServerConfig } from "./config/index.js";
export { PyfleetError, type ErrorCode } from "./errors.js";
