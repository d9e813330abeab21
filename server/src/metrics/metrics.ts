import { ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ComputeRecord } from "../compute/index.js";
import type { PoolRegistry, PoolStatsSnapshot } from "../pool/index.js";
import { CallHistogram, type Series } from "./call-histogram.js";

export interface Metrics {
  readonly registry: Registry;
  readonly rpcRequests: Counter<"method" | "code">;
  readonly rpcSeconds: Histogram<"method" | "code">;
  /** Counts one RPC and its latency by method and code. */
  recordRpc(method: string, code: string, seconds: number): void;
}

export interface MetricsSources {
  pools: PoolRegistry;
  /** The log hub's counts (WatchLogs), read at scrape time. */
  logs?: { readonly written: number; readonly dropped: number; readonly readerCount: number };
  /** Every tenant's live computes, read at scrape time. */
  computes?: () => Promise<ComputeRecord[]>;
}

/** Buckets from 100 µs (a fast tool's queue wait) to 5 min (a long tool run). */
const CALL_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Prometheus metrics: RPCs by method and code; per pool and tool, histograms
 * of queue wait and run time; pool counters (`_total`, only ever up) and
 * gauges read at scrape time; worker RSS; computes and their cost per
 * provider; process metrics. docs/metrics.md lists them; the Grafana
 * dashboard's queries are checked against these names by a test.
 */
export function createMetrics(sources: MetricsSources): Metrics {
  const { pools } = sources;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "pyfleet_process_" });
  const registers = [registry];
  const rpcRequests = new Counter({ name: "pyfleet_rpc_requests_total", help: "RPCs handled, by method and status code.", labelNames: ["method", "code"] as const, registers });
  const rpcSeconds = new Histogram({
    name: "pyfleet_rpc_duration_seconds",
    help: "RPC latency (to the last message for streams), by method and status code.",
    labelNames: ["method", "code"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });

  // Per pool and tool: observed by the pool as each call ends, on series kept per tool.
  const queueWait = new CallHistogram("pyfleet_pool_queue_wait_seconds", "Time calls waited for a worker, by pool and tool.", CALL_BUCKETS, registry);
  const runTime = new CallHistogram("pyfleet_pool_run_seconds", "Time calls ran on a worker (to the last chunk for streams), by pool, tool and outcome (ok, or error when the tool raised).", CALL_BUCKETS, registry);
  for (const pool of pools.list()) {
    const byTool = new Map<string, { wait: Series; ok: Series; error: Series }>();
    pool.observeCalls((tool, queuedMs, ranMs, ok) => {
      let s = byTool.get(tool);
      if (!s) {
        s = {
          wait: queueWait.series({ pool: pool.name, tool }),
          ok: runTime.series({ pool: pool.name, tool, outcome: "ok" }),
          error: runTime.series({ pool: pool.name, tool, outcome: "error" }),
        };
        byTool.set(tool, s);
      }
      s.wait.observe(queuedMs / 1000);
      (ok ? s.ok : s.error).observe(ranMs / 1000);
    });
  }

  // Read from the pools at scrape time.
  type Read<M> = (metric: M, pool: string, s: PoolStatsSnapshot) => void;
  const poolGauge = (name: string, help: string, labelNames: string[], read: Read<Gauge>) =>
    new Gauge({ name, help, labelNames, registers, collect() { this.reset(); for (const p of pools.list()) read(this, p.name, p.stats()); } });
  // Counters: the pools' own counters only go up, so each scrape sets the running total.
  const poolCounter = (name: string, help: string, labelNames: string[], read: Read<Counter>) =>
    new Counter({ name, help, labelNames, registers, collect() { this.reset(); for (const p of pools.list()) read(this, p.name, p.stats()); } });

  poolGauge("pyfleet_pool_workers", "Workers by pool and state.", ["pool", "state"], (g, pool, s) => {
    g.set({ pool, state: "starting" }, s.workersStarting);
    g.set({ pool, state: "ready" }, s.workersReady);
    g.set({ pool, state: "busy" }, s.workersBusy);
    g.set({ pool, state: "draining" }, s.workersDraining);
  });
  poolGauge("pyfleet_pool_queue_depth", "Calls waiting for a worker.", ["pool"], (g, pool, s) => g.set({ pool }, s.queueDepth));
  poolGauge("pyfleet_pool_in_flight", "Calls running on workers.", ["pool"], (g, pool, s) => g.set({ pool }, s.inFlight));
  poolGauge("pyfleet_pool_sessions", "Open sessions.", ["pool"], (g, pool, s) => g.set({ pool }, s.sessions));
  poolGauge("pyfleet_pool_circuit_open", "1 while the pool refuses calls because workers keep failing to start.", ["pool"], (g, pool, s) => g.set({ pool }, s.circuitOpen ? 1 : 0));
  poolCounter("pyfleet_pool_calls_total", "Calls accepted since the pool started.", ["pool"], (c, pool, s) => c.inc({ pool }, s.callsTotal));
  poolCounter("pyfleet_pool_restarts_total", "Workers restarted after dying or being recycled.", ["pool"], (c, pool, s) => c.inc({ pool }, s.restarts));
  poolCounter("pyfleet_pool_retries_total", "Calls retried on another worker after their worker died.", ["pool"], (c, pool, s) => c.inc({ pool }, s.retries));
  poolGauge("pyfleet_pool_workers_desired", "Local workers the pool aims to have: its size, or its autoscaling's last decision.", ["pool"], (g, pool, s) => g.set({ pool }, s.workersDesired));
  poolCounter("pyfleet_pool_scale_events_total", "Autoscaling decisions by pool, direction (up, down) and reason (cold_start, load, idle).", ["pool", "direction", "reason"], (c, pool, s) => {
    for (const [key, n] of Object.entries(s.scaleEvents)) {
      const [direction = "", reason = ""] = key.split(":");
      c.inc({ pool, direction, reason }, n);
    }
  });
  poolCounter("pyfleet_pool_errors_total", "Failed calls by pool and status code.", ["pool", "code"], (c, pool, s) => {
    for (const [code, n] of Object.entries(s.errorsByCode)) c.inc({ pool, code }, n);
  });
  new Gauge({
    name: "pyfleet_worker_rss_bytes",
    help: "Resident memory of each worker process, at its last heartbeat.",
    labelNames: ["pool", "worker"],
    registers,
    collect() {
      this.reset();
      for (const pool of pools.list()) {
        for (const w of pool.workerSummaries()) if (w.state !== "dead" && w.rssBytes > 0) this.set({ pool: pool.name, worker: w.id }, w.rssBytes);
      }
    },
  });

  if (sources.logs) {
    const logs = sources.logs;
    new Counter({ name: "pyfleet_log_records_total", help: "Worker log records the server took (what tools printed and logged).", registers, collect() { this.reset(); this.inc(logs.written); } });
    new Counter({ name: "pyfleet_log_records_dropped_total", help: "Log records following WatchLogs readers lost because they read too slowly.", registers, collect() { this.reset(); this.inc(logs.dropped); } });
    new Gauge({ name: "pyfleet_log_readers", help: "WatchLogs streams following new records.", registers, collect() { this.set(logs.readerCount); } });
  }

  if (sources.computes) {
    const read = sources.computes;
    // One read serves both gauges of a scrape.
    let snapshot: Promise<ComputeRecord[]> | undefined;
    const once = () => {
      snapshot ??= read().finally(() => setImmediate(() => (snapshot = undefined)));
      return snapshot;
    };
    new Gauge({
      name: "pyfleet_computes",
      help: "Computes that are not terminated, by provider and status.",
      labelNames: ["provider", "status"],
      registers,
      async collect() {
        const all = await once();
        this.reset();
        for (const c of all) this.inc({ provider: c.provider, status: statusName(c.status) });
      },
    });
    new Gauge({
      name: "pyfleet_compute_cost_per_hour_dollars",
      help: "What running computes cost per hour, by provider (US dollars).",
      labelNames: ["provider"],
      registers,
      async collect() {
        const all = await once();
        this.reset();
        for (const c of all) if (BILLED.has(c.status)) this.inc({ provider: c.provider }, c.costPerHour);
      },
    });
  }

  // Each method and code's series, bound once: prom-client hashes a label object on every inc and observe.
  const rpcSeries = new Map<string, { requests: Counter.Internal; seconds: Histogram.Internal<"method" | "code"> }>();
  const recordRpc = (method: string, code: string, seconds: number) => {
    const key = `${method} ${code}`;
    let series = rpcSeries.get(key);
    if (series === undefined) {
      series = { requests: rpcRequests.labels({ method, code }), seconds: rpcSeconds.labels({ method, code }) };
      rpcSeries.set(key, series);
    }
    series.requests.inc();
    series.seconds.observe(seconds);
  };

  return { registry, rpcRequests, rpcSeconds, recordRpc };
}

/** Statuses a provider bills for. */
const BILLED = new Set([ComputeStatus.PROVISIONING, ComputeStatus.RUNNING, ComputeStatus.READY, ComputeStatus.STOPPING]);

function statusName(status: ComputeStatus): string {
  return (ComputeStatus[status] ?? "UNSPECIFIED").toLowerCase();
}
