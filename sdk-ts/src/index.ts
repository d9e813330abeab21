export { createClient } from "./web.js";
export { clientFromTransport, type ClientOptions, type Protocol, type PyfleetClient } from "./client.js";
export { codeName, PyfleetError, STATUS_CODES, statusCode, type ErrorCode, type ToolError } from "./errors.js";
export { PoolClient, type CallInfo, type CallOptions, type CallResult, type ManyRequest, type ManyResult, type PoolEvent, type StreamSummary, type ToolValue } from "./pool.js";
export { Session, type AffinityMode, type SessionInfo, type SessionOptions, type SetOptions, type VariableEvent } from "./session.js";
export { ComputeClient, ComputeHandle, type ComputeInfo, type ComputeStatusName, type JobInfo, type JobStatusName, type SpawnSpec } from "./compute.js";
export type { Variable, VariableTypeName, VariableValue } from "./values.js";
