import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaults, loadConfig, logsDefaults, poolDefaults, resolveConfig, telemetryDefaults } from "../../src/config/index.js";
import { resolvePoolConfig } from "../../src/pool/index.js";

const DOC = readFileSync(new URL("../../../docs/configuration.md", import.meta.url), "utf8");

/** The default column of the table rows whose key is `key`. */
function documentedDefault(key: string): string | undefined {
  const row = DOC.split("\n").find((line) => line.startsWith(`| \`${key}\` |`));
  return row?.split("|")[2]?.trim().replace(/^`|`$/g, "");
}

describe("configuration", () => {
  it("documents every default with the value the code uses", () => {
    const skip = new Set(["python"]);
    const logs = Object.entries(logsDefaults).map(([key, value]) => [`logs.${key}`, value] as const);
    for (const [key, value] of [...Object.entries(defaults), ...Object.entries(poolDefaults), ...logs]) {
      if (skip.has(key)) continue;
      expect(documentedDefault(key), key).toBe(String(value));
    }
    for (const [key, value] of Object.entries(telemetryDefaults)) expect(documentedDefault(`telemetry.${key}`), key).toBe(String(value));
  });

  it("turns tracing on from telemetry.otlpEndpoint, PYFLEET_OTLP_ENDPOINT, or else OTEL_EXPORTER_OTLP_ENDPOINT", () => {
    expect(resolveConfig({}).telemetry).toEqual({ serviceName: "pyfleet", sampleRatio: 1, headers: {} });
    expect(loadConfig(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318" }).telemetry.otlpEndpoint).toBe("http://otel:4318");
    expect(loadConfig(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318", PYFLEET_OTLP_ENDPOINT: "http://ours:4318" }).telemetry.otlpEndpoint).toBe("http://ours:4318");
    expect(() => loadConfig(undefined, { PYFLEET_OTLP_ENDPOINT: "otel:4318" })).toThrow(/\$PYFLEET_OTLP_ENDPOINT.*http\(s\) URL/);
    expect(() => resolveConfig({ telemetry: { sampleRatio: 2 } })).toThrow(/telemetry\.sampleRatio/);
  });

  it("names an unknown or mistyped key", () => {
    expect(() => resolveConfig({ prot: 1 } as never)).toThrow(/unknown key prot/);
    expect(() => resolveConfig({ pools: [{ name: "p", size: -1 }] })).toThrow(/pools\[0\]\.size/);
    expect(() => resolveConfig({ pools: [{ name: "p", sise: 2 }] } as never)).toThrow(/pools\[0\]\.sise/);
    expect(() => resolveConfig({ pools: [{ name: "a" }, { name: "a" }] })).toThrow(/two pools are named "a"/);
    expect(() => resolveConfig({ defaultPool: "x", pools: [{ name: "a" }] })).toThrow(/defaultPool/);
  });

  it("sizes a pool by size or by minSize/maxSize, and refuses contradictions naming the key", () => {
    const pool = (p: Record<string, unknown>) => resolvePoolConfig(resolveConfig({ pools: [{ name: "p", ...p }] }).pools[0]!);
    expect(pool({})).toMatchObject({ minSize: 2, maxSize: 2, autoscale: false });
    expect(pool({ size: 0 })).toMatchObject({ minSize: 0, maxSize: 0, autoscale: false });
    expect(pool({ maxSize: 4, concurrency: 2 })).toMatchObject({ minSize: 1, maxSize: 4, targetInflight: 2, autoscale: true, scaleUpDelayMs: 1_000, scaleDownDelayMs: 60_000 });
    expect(pool({ minSize: 0, maxSize: 3, targetInflight: 5 })).toMatchObject({ minSize: 0, maxSize: 3, targetInflight: 5, autoscale: true });
    const refused = (p: Record<string, unknown>) => () => resolveConfig({ pools: [{ name: "p", ...p }] });
    expect(refused({ size: 2, maxSize: 4 })).toThrow(/pools\[0\]\.maxSize: cannot be set with size: size 2 fixes the pool at 2 workers/);
    expect(refused({ size: 2, minSize: 1, maxSize: 4 })).toThrow(/pools\[0\]\.minSize: cannot be set with size/);
    expect(refused({ minSize: 1 })).toThrow(/pools\[0\]\.minSize: needs maxSize/);
    expect(refused({ minSize: 5, maxSize: 2 })).toThrow(/pools\[0\]\.minSize: 5 is above maxSize 2/);
    expect(refused({ targetInflight: 4 })).toThrow(/pools\[0\]\.targetInflight: applies to an autoscaling pool only/);
    expect(refused({ maxSize: 0 })).toThrow(/pools\[0\]\.maxSize/);
    expect(refused({ maxSize: 3, gpus: [0, 1] })).toThrow(/pools\[0\]\.gpus: maxSize 3 \* gpusPerWorker 1 needs 3 GPUs but gpus lists 2; lower maxSize or gpusPerWorker/);
    expect(() => pool({ minSize: 0, maxSize: 2, gpus: [0, 1] })).not.toThrow();
  });

  it("reads YAML, then applies environment overrides", () => {
    const dir = mkdtempSync(join(tmpdir(), "pyfleet-config-"));
    const file = join(dir, "pyfleet.yaml");
    writeFileSync(file, "port: 9000\npools:\n  - name: gpu\n    size: 3\n    startMode: fork\n");
    const config = loadConfig(file, { PYFLEET_PORT: "9100", PYFLEET_API_KEYS: "alice:0123456789abcdef0123" });
    expect(config.port).toBe(9100);
    expect(config.pools[0]).toMatchObject({ name: "gpu", size: 3, startMode: "fork", concurrency: 1 });
    expect(config.auth.apiKeys).toEqual([{ name: "alice", key: "0123456789abcdef0123" }]);
    writeFileSync(file, "port: [\n");
    expect(() => loadConfig(file, {})).toThrow(/not valid YAML/);
    expect(() => loadConfig(join(dir, "missing.yaml"), {})).toThrow(/cannot read config file/);
    expect(() => loadConfig(undefined, { PYFLEET_API_KEYS: "justakey" })).toThrow(/name:key/);
  });

  it("embeds one pool named default running the sample adapter", () => {
    const config = resolveConfig({});
    expect(config.pools.map((p) => [p.name, p.adapter])).toEqual([["default", "pyfleet_bridge.samples:SampleAdapter"]]);
  });
});
