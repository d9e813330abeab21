import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { PoolRegistry } from "../pool/index.js";

export interface Metrics {
  readonly registry: Registry;
  readonly rpcRequests: Counter<"method" | "code">;
  readonly rpcSeconds: Histogram<"method" | "code">;
}

/** Prometheus metrics: RPCs by method and code, pool gauges read at scrape time, process metrics. */
export function createMetrics(pools: PoolRegistry): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "pyfleet_process_" });
  const rpcRequests = new Counter({
    name: "pyfleet_rpc_requests_total",
    help: "RPCs handled, by method and status code.",
    labelNames: ["method", "code"] as const,
    registers: [registry],
  });
  const rpcSeconds = new Histogram({
    name: "pyfleet_rpc_duration_seconds",
    help: "RPC latency (to the last message for streams), by method and status code.",
    labelNames: ["method", "code"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  const gauge = (name: string, help: string, labelNames: string[], read: (g: Gauge) => void) =>
    new Gauge({ name, help, labelNames, registers: [registry], collect() { this.reset(); read(this); } });

  gauge("pyfleet_pool_workers", "Workers by pool and state.", ["pool", "state"], (g) => {
    for (const pool of pools.list()) {
      const s = pool.stats();
      g.set({ pool: pool.name, state: "starting" }, s.workersStarting);
      g.set({ pool: pool.name, state: "ready" }, s.workersReady);
      g.set({ pool: pool.name, state: "busy" }, s.workersBusy);
      g.set({ pool: pool.name, state: "draining" }, s.workersDraining);
    }
  });
  const perPool = (name: string, help: string, pick: (s: ReturnType<PoolRegistry["list"]>[number]["stats"] extends () => infer R ? R : never) => number) =>
    gauge(name, help, ["pool"], (g) => {
      for (const pool of pools.list()) g.set({ pool: pool.name }, pick(pool.stats()));
    });
  perPool("pyfleet_pool_queue_depth", "Calls waiting for a worker.", (s) => s.queueDepth);
  perPool("pyfleet_pool_in_flight", "Calls running on workers.", (s) => s.inFlight);
  perPool("pyfleet_pool_restarts", "Workers restarted since the pool started.", (s) => s.restarts);
  perPool("pyfleet_pool_calls", "Calls accepted since the pool started.", (s) => s.callsTotal);
  perPool("pyfleet_pool_sessions", "Open sessions.", (s) => s.sessions);

  return { registry, rpcRequests, rpcSeconds };
}
