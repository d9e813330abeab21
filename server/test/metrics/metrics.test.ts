import { readFileSync } from "node:fs";
import { createClient } from "@pyfleet/sdk/node";
import { Registry } from "prom-client";
import { CallHistogram } from "../../src/metrics/call-histogram.js";
import { describe, expect, it, onTestFinished } from "vitest";
import { startServer } from "../helpers.js";
import { until } from "../procs.js";

const DASHBOARD = JSON.parse(readFileSync(new URL("../../../deploy/grafana/pyfleet-dashboard.json", import.meta.url), "utf8")) as {
  panels: { title: string; targets?: { expr: string }[] }[];
  templating: { list: { type: string; query?: unknown }[] };
};

interface Family {
  type: string;
  /** Sample name (e.g. x_bucket) -> label sets seen. */
  samples: Map<string, Record<string, string>[]>;
}

/** Parses Prometheus text format into families by name. */
function parse(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      current = { type: type[2]!, samples: new Map() };
      families.set(type[1]!, current);
      continue;
    }
    if (!line || line.startsWith("#") || !current) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    const list = current.samples.get(m[1]!) ?? [];
    list.push({ ...labels, __value: m[3]! });
    current.samples.set(m[1]!, list);
  }
  return families;
}

function value(families: Map<string, Family>, sample: string, labels: Record<string, string>): number | undefined {
  for (const f of families.values()) {
    const hit = f.samples.get(sample)?.find((s) => Object.entries(labels).every(([k, v]) => s[k] === v));
    if (hit) return Number(hit.__value);
  }
  return undefined;
}

async function scrape(url: string): Promise<Map<string, Family>> {
  return parse(await (await fetch(`${url}/metrics`)).text());
}

/** A scrape that shows the workers' RSS: the server learns it from heartbeat answers, which no event announces. */
async function withWorkerRss(url: string): Promise<Map<string, Family>> {
  return until(async () => {
    const families = await scrape(url);
    return families.get("pyfleet_worker_rss_bytes")?.samples.size ? families : undefined;
  }, 10_000, "a scrape with pyfleet_worker_rss_bytes");
}

describe("metrics", () => {
  it("the per-call histogram exports cumulative buckets, sum and count in Prometheus format", async () => {
    const registry = new Registry();
    const h = new CallHistogram("t_seconds", "help text", [0.001, 0.01, 1], registry);
    const s = h.series({ pool: "p", tool: "x" });
    for (const v of [0.0005, 0.001, 0.002, 0.5, 400]) s.observe(v);
    expect(await registry.metrics()).toBe([
      "# HELP t_seconds help text",
      "# TYPE t_seconds histogram",
      't_seconds_bucket{pool="p",tool="x",le="0.001"} 2',
      't_seconds_bucket{pool="p",tool="x",le="0.01"} 3',
      't_seconds_bucket{pool="p",tool="x",le="1"} 4',
      't_seconds_bucket{pool="p",tool="x",le="+Inf"} 5',
      't_seconds_sum{pool="p",tool="x"} 400.5035',
      't_seconds_count{pool="p",tool="x"} 5',
      "",
    ].join("\n"));
    expect(h.series({ pool: "p", tool: "x" })).toBe(s);
  });

  it("histograms per pool and tool, _total counters, worker RSS, computes and cost per provider", async () => {
    const server = await startServer({ pools: [{ name: "default", size: 1, heartbeatIntervalMs: 100 }] });
    await server.ready();
    const sdk = createClient({ baseUrl: server.url });
    onTestFinished(() => sdk.close());
    for (let i = 0; i < 3; i++) await sdk.pool.execute("add", { a: i, b: 1 });
    await sdk.pool.execute("fail", { message: "x" }).catch(() => undefined);
    for await (const _ of sdk.pool.stream("count", { n: 2 })) { /* drain */ }
    const compute = await sdk.compute.spawn({ gpu: "a4000", idleTtlMs: 600_000 });
    await compute.waitUntilReady({ timeoutMs: 20_000 });

    // RSS arrives with the first heartbeat answer.
    const families = await withWorkerRss(server.url);

    const types = Object.fromEntries([...families].filter(([n]) => n.startsWith("pyfleet_") && !n.startsWith("pyfleet_process_")).map(([n, f]) => [n, f.type]));
    expect(types).toEqual({
      pyfleet_rpc_requests_total: "counter",
      pyfleet_rpc_duration_seconds: "histogram",
      pyfleet_pool_queue_wait_seconds: "histogram",
      pyfleet_pool_run_seconds: "histogram",
      pyfleet_pool_workers: "gauge",
      pyfleet_pool_queue_depth: "gauge",
      pyfleet_pool_in_flight: "gauge",
      pyfleet_pool_sessions: "gauge",
      pyfleet_pool_circuit_open: "gauge",
      pyfleet_pool_calls_total: "counter",
      pyfleet_pool_restarts_total: "counter",
      pyfleet_pool_retries_total: "counter",
      pyfleet_pool_errors_total: "counter",
      pyfleet_pool_workers_desired: "gauge",
      pyfleet_pool_scale_events_total: "counter",
      pyfleet_worker_rss_bytes: "gauge",
      pyfleet_computes: "gauge",
      pyfleet_compute_cost_per_hour_dollars: "gauge",
      pyfleet_log_records_total: "counter",
      pyfleet_log_records_dropped_total: "counter",
      pyfleet_log_readers: "gauge",
    });
    // Every counter of pyfleet's own, and only counters, end in _total (Node's process metrics are prom-client's).
    for (const [name, f] of families) if (!name.startsWith("pyfleet_process_")) expect(name.endsWith("_total"), name).toBe(f.type === "counter");

    expect(value(families, "pyfleet_pool_queue_wait_seconds_count", { pool: "default", tool: "add" })).toBe(3);
    expect(value(families, "pyfleet_pool_run_seconds_count", { pool: "default", tool: "add", outcome: "ok" })).toBe(3);
    expect(value(families, "pyfleet_pool_run_seconds_count", { pool: "default", tool: "fail", outcome: "error" })).toBe(1);
    expect(value(families, "pyfleet_pool_run_seconds_count", { pool: "default", tool: "count", outcome: "ok" })).toBe(1);
    expect(value(families, "pyfleet_pool_run_seconds_bucket", { pool: "default", tool: "add", outcome: "ok", le: "+Inf" })).toBe(3);
    expect(value(families, "pyfleet_pool_calls_total", { pool: "default" })).toBe(5);
    expect(value(families, "pyfleet_pool_errors_total", { pool: "default", code: "unknown" })).toBe(1);
    expect(value(families, "pyfleet_pool_restarts_total", { pool: "default" })).toBe(0);
    expect(value(families, "pyfleet_pool_workers_desired", { pool: "default" })).toBe(1);
    const pid = server.pools.get("default").workerSummaries()[0]!;
    expect(value(families, "pyfleet_worker_rss_bytes", { pool: "default", worker: pid.id })).toBeGreaterThan(5_000_000);
    expect(value(families, "pyfleet_log_records_total", {})).toBe(server.logs.written);
    expect(value(families, "pyfleet_log_records_dropped_total", {})).toBe(0);
    expect(value(families, "pyfleet_log_readers", {})).toBe(0);
    expect(value(families, "pyfleet_computes", { provider: "mock", status: "ready" })).toBe(1);
    expect(value(families, "pyfleet_compute_cost_per_hour_dollars", { provider: "mock" })).toBe((await compute.refresh()).costPerHour);
  });

  it("the Grafana dashboard queries only metrics and labels the server exports", async () => {
    // "auto" scales from zero on its first call, so the scale metrics have samples.
    const server = await startServer({ pools: [{ name: "default", size: 1, heartbeatIntervalMs: 100 }, { name: "auto", minSize: 0, maxSize: 1 }] });
    await server.ready();
    const sdk = createClient({ baseUrl: server.url });
    onTestFinished(() => sdk.close());
    await sdk.pool.execute("add", { a: 1, b: 1 });
    expect(await sdk.poolNamed("auto").execute("add", { a: 2, b: 2 })).toBe(4);
    await sdk.pool.execute("fail", { message: "x" }).catch(() => undefined);
    await sdk.compute.spawn({ gpu: "a4000", idleTtlMs: 600_000 });
    const families = await withWorkerRss(server.url);
    expect(value(families, "pyfleet_pool_scale_events_total", { pool: "auto", direction: "up", reason: "cold_start" })).toBe(1);
    const labelsOf = new Map<string, Set<string>>();
    for (const f of families.values()) {
      for (const [sample, sets] of f.samples) labelsOf.set(sample, new Set(sets.flatMap((s) => Object.keys(s).filter((k) => k !== "__value"))));
    }

    const exprs = [
      ...DASHBOARD.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr }))),
      ...DASHBOARD.templating.list.filter((v) => v.type === "query").map((v) => ({ panel: "templating", expr: JSON.stringify(v.query) })),
    ];
    expect(exprs.length).toBeGreaterThan(15);
    const used = new Set<string>();
    for (const { panel, expr } of exprs) {
      const names = [...expr.matchAll(/\bpyfleet_\w+/g)].map((m) => m[0]);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        expect(labelsOf.has(name), `${panel}: ${name} is not a metric the server exports`).toBe(true);
        used.add(name);
        // Labels in the selector right after the name exist on it.
        const selector = new RegExp(`${name}\\{([^}]*)\\}`).exec(expr)?.[1] ?? "";
        for (const [, label] of selector.matchAll(/(\w+)\s*(?:=~|!=|!~|=)/g)) expect(labelsOf.get(name)!.has(label!), `${panel}: ${name} has no label ${label}`).toBe(true);
      }
      // Labels it groups by exist on every metric of the expression (le on buckets).
      for (const [, group] of expr.matchAll(/by \(([^)]*)\)/g)) {
        for (const label of group!.split(",").map((l) => l.trim())) {
          for (const name of names) expect(labelsOf.get(name)!.has(label), `${panel}: ${name} has no label ${label} to group by`).toBe(true);
        }
      }
    }
    // Every pool and compute metric has a panel.
    for (const name of families.keys()) {
      if (!/^pyfleet_(pool|worker|compute)/.test(name)) continue;
      expect([...used].some((u) => u.startsWith(name)), `no panel shows ${name}`).toBe(true);
    }
  });
});
