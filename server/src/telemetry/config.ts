import { z } from "zod";
import { telemetryDefaults as d } from "../config/defaults.js";

/**
 * The `telemetry` block: tracing is on when spans have somewhere to go
 * (`otlpEndpoint`, or PYFLEET_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT).
 */
export const telemetryConfigSchema = z.object({
  otlpEndpoint: z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL like "http://localhost:4318"').optional()
    .describe("OTLP/HTTP base URL of a trace collector, e.g. http://localhost:4318: spans go to <url>/v1/traces as protobuf. Unset: tracing off. Env PYFLEET_OTLP_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT."),
  serviceName: z.string().min(1).default(d.serviceName).describe("The service.name trace backends list the server's spans under."),
  sampleRatio: z.number().min(0).max(1).default(d.sampleRatio)
    .describe("Share of new traces (no sampled parent from the caller) that are recorded, 0 to 1; a caller's sampled flag always wins."),
  headers: z.record(z.string(), z.string()).default({}).describe("HTTP headers sent with every export (a vendor's API key, for instance)."),
}).strict();

export type TelemetryConfig = z.output<typeof telemetryConfigSchema>;
export type TelemetryConfigInput = z.input<typeof telemetryConfigSchema>;
