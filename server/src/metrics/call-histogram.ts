import type { Metric, MetricValueWithName, Registry } from "prom-client";

/** One label set's buckets: counts per bucket (the last is +Inf), sum and count. */
export class Series {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly labels: Record<string, string>, private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A histogram for the per-call path. prom-client's histogram validates and
 * hashes the labels on every observe (microseconds per call here); this one
 * hands out a Series per label set, which callers keep, so an observation is
 * a short bucket scan and three additions. The registry formats it at scrape.
 */
export class CallHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly all = new Map<string, Series>();

  constructor(readonly name: string, readonly help: string, private readonly bounds: readonly number[], registry: Registry) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series of `labels` (made on first use): keep it and observe on it. */
  series(labels: Record<string, string>): Series {
    const key = JSON.stringify(labels);
    let s = this.all.get(key);
    if (!s) this.all.set(key, (s = new Series(labels, this.bounds)));
    return s;
  }

  reset(): void {
    this.all.clear();
  }

  /** What the registry formats: prom-client's metric object shape. */
  async get(): Promise<{ name: string; help: string; type: "histogram"; aggregator: "sum"; values: MetricValueWithName<string>[] }> {
    const values: MetricValueWithName<string>[] = [];
    for (const s of this.all.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: i < this.bounds.length ? this.bounds[i]! : "+Inf" }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: "histogram", aggregator: "sum", values };
  }
}
