import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type ComputeSpec, ComputeSpecSchema } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { onTestFinished } from "vitest";
import { MockProvider, SqliteStore, Orchestrator, type OrchestratorOptionsForTests, type Provider } from "./exports.js";
import { createLogger } from "../../src/log/index.js";

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "pyfleet-compute-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function spec(init: MessageInitShape<typeof ComputeSpecSchema> = {}): ComputeSpec {
  return create(ComputeSpecSchema, { provider: "mock", gpu: "a4000", image: "pyfleet/test:1", ...init });
}

/** An orchestrator over the given providers (a fresh mock by default), on a temp SQLite file, closed when the test ends. */
export async function openOrchestrator(options: Partial<OrchestratorOptionsForTests> & { providers?: Provider[]; dir?: string } = {}) {
  const mock = new MockProvider();
  const dir = options.dir ?? tempDir();
  const store = new SqliteStore(join(dir, "compute.sqlite"));
  const o = await Orchestrator.open({
    store,
    providers: options.providers ?? [mock],
    defaultProvider: options.defaultProvider ?? "mock",
    logger: createLogger("silent"),
    pollIntervalMs: 10,
    idleSweepMs: 20,
    reaperIntervalMs: 0,
    waitTimeoutMs: 5_000,
    ...options,
  });
  onTestFinished(() => o.close());
  return { o, mock, dir, store };
}
