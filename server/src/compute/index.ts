import { PyfleetError } from "../errors.js";
import type { Logger } from "../log/index.js";
import type { Telemetry } from "../telemetry/index.js";
import type { ComputeConfig, ProviderConfig } from "./config.js";
import { Orchestrator, type WorkerGroupHost } from "./orchestrator.js";
import type { Provider } from "./provider.js";
import { LocalProvider, type ToolRunner } from "./providers/local.js";
import { MockProvider } from "./providers/mock.js";
import { RemoteProvider } from "./providers/remote.js";
import { RunPodProvider } from "./providers/runpod/provider.js";
import { KubernetesProvider } from "./providers/kubernetes/index.js";
import { openStore } from "./store/index.js";

export { computeConfigSchema, providerConfigSchema, type ComputeConfig, type ComputeConfigInput, type ProviderConfig } from "./config.js";
export { gpuCatalog, resolveGpu } from "./gpus.js";
export { Orchestrator, type Budget, type ComputeChange, type ListComputesFilter, type RunJobInput, type WorkerGroupHost } from "./orchestrator.js";
export { COMPUTE_LABEL, MANAGED_LABEL, OWNER_LABEL, type JobEvent, type ListFilter, type MachineLogLine, type MachineLogOptions, type Provider, type ProviderKind } from "./provider.js";
export { LocalProvider, type ToolRunner } from "./providers/local.js";
export { MockProvider } from "./providers/mock.js";
export { RemoteProvider } from "./providers/remote.js";
export { RunPodProvider } from "./providers/runpod/provider.js";
export { KubernetesProvider, type KubernetesProviderOptions } from "./providers/kubernetes/index.js";
export { FINAL_STATUSES, openStore, PostgresStore, SqliteStore, type ComputeRecord, type ComputeStore, type JobRecord, type RemoteChange, type ReplicaRecord } from "./store/index.js";

export interface ComputeDeps {
  logger: Logger;
  /** The SQLite file lives here (the default store). */
  dataDir: string;
  /** A postgres:// URL shared by replicas, or sqlite:FILE; default: SQLite in dataDir. */
  store?: string;
  /** Other processes of this server (`serve --processes N`) use the same SQLite file. */
  sharedFile?: boolean;
  /** The Python local worker groups run with. */
  python: string;
  workerHost?: WorkerGroupHost;
  toolRunner?: ToolRunner;
  env?: NodeJS.ProcessEnv;
  /** Spawns and jobs get spans (default: tracing off). */
  telemetry?: Telemetry;
}

/** A provider from its config entry. */
export function createProvider(config: ProviderConfig, deps: ComputeDeps): Provider {
  switch (config.kind) {
    case "mock":
      return new MockProvider(config.name);
    case "local":
      return new LocalProvider({ name: config.name, python: config.python ?? deps.python, logger: deps.logger, toolRunner: deps.toolRunner });
    case "runpod": {
      const apiKey = config.apiKey ?? (deps.env ?? process.env).RUNPOD_API_KEY;
      if (!apiKey) {
        throw new PyfleetError("invalid_argument", `provider "${config.name}": no RunPod API key; set compute.providers[].apiKey or RUNPOD_API_KEY`);
      }
      return new RunPodProvider({ ...config, apiKey });
    }
    case "kubernetes":
      return new KubernetesProvider({ ...config, logger: deps.logger, env: deps.env });
    case "remote":
      return new RemoteProvider(config);
  }
}

/** Opens the compute store (SQLite in the data dir, or a shared Postgres) and the orchestrator over the configured providers. */
export async function createCompute(config: ComputeConfig, deps: ComputeDeps): Promise<Orchestrator> {
  const names = config.providers.map((p) => p.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new PyfleetError("invalid_argument", `config: compute.providers: two providers are named "${dup}"`);
  const providers = config.providers.map((p) => createProvider(p, deps));
  const store = await openStore(deps.store, deps);
  return Orchestrator.open({
    store,
    providers,
    defaultProvider: config.defaultProvider,
    logger: deps.logger,
    workerHost: deps.workerHost,
    budgetFor: (owner) => config.budgets[owner] ?? config.defaultBudget,
    pollIntervalMs: config.pollIntervalMs,
    idleSweepMs: config.idleSweepMs,
    reaperIntervalMs: config.reaperIntervalMs,
    waitTimeoutMs: config.waitTimeoutMs,
    telemetry: deps.telemetry,
  });
}
