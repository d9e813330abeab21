import type { SpanExporter } from "@opentelemetry/sdk-trace";
import type { TelemetryConfig } from "./config.js";
import { NO_TELEMETRY } from "./noop.js";
import type { Telemetry } from "./types.js";

export { telemetryConfigSchema, type TelemetryConfig, type TelemetryConfigInput } from "./config.js";
export { NO_TELEMETRY } from "./noop.js";
export type { Attributes, CallTrace, CallTracer, RpcSpan, Telemetry, TraceContext, TraceSpan } from "./types.js";

export interface TelemetryOptions {
  /**
   * An OpenTelemetry SpanExporter (from @opentelemetry/sdk-trace) that gets
   * every span as it ends, with or without OTLP; tests pass an in-memory one.
   */
  exporter?: SpanExporter;
}

/**
 * The server's tracing: OpenTelemetry when `otlpEndpoint` is set (or an
 * exporter is given), else NO_TELEMETRY. The SDK is imported only then, so a
 * server with tracing off neither loads it nor pays anything per call.
 */
export async function createTelemetry(config: TelemetryConfig, options: TelemetryOptions = {}): Promise<Telemetry> {
  if (!config.otlpEndpoint && options.exporter === undefined) return NO_TELEMETRY;
  const { createOtelTelemetry } = await import("./otel.js");
  return createOtelTelemetry(config, options);
}
