// What compute tests use, from the compute door.
export { MockProvider, SqliteStore, Orchestrator, type Provider, type WorkerGroupHost } from "../../src/compute/index.js";
import type { Orchestrator } from "../../src/compute/index.js";

export type OrchestratorOptionsForTests = Parameters<typeof Orchestrator.open>[0];
