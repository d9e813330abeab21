import { type PoolConfigInput, resolvePoolConfig } from "./config.js";
import { Pool, type PoolDeps } from "./pool.js";

export { defaultPython, poolConfigSchema, resolvePoolConfig, type PoolConfig, type PoolConfigInput, type StartMode } from "./config.js";
export type { PoolEvent, PoolEventKind } from "./events.js";
export { LinkServer, StreamLink, type Link } from "./link/index.js";
export { PoolRegistry } from "./registry.js";
export { CallResult, ChunkEvent, type CallHandle, type CallInfo, type ExecuteOptions, type StreamEvent, type ToolStream } from "./calls.js";
export { Pool, type PoolDeps } from "./pool.js";
export { runPipelined, type PipelinedCall, type PipelineOptions } from "./pipeline.js";
export type { CallObserver, PoolStatsSnapshot, WorkerSummary } from "./stats.js";
export { typedValueToJson, type AffinityMode, type SessionRecord, type SetVariableInput, type VariableChange } from "./sessions/index.js";
export type { Worker, WorkerState } from "./worker.js";

/** Creates a pool from a (partial) config and starts its workers. */
export function createPool(
  config: PoolConfigInput,
  deps: PoolDeps,
): Promise<Pool> {
  return Pool.create(resolvePoolConfig(config), deps);
}
