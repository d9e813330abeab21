import { AsyncLocalStorage } from "node:async_hooks";
import { type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type TextMapGetter, type Tracer, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { type ErrorCode, statusCode } from "../errors.js";
import { SERVER_VERSION } from "../version.js";
import type { TelemetryConfig } from "./config.js";
import type { Attributes, CallTrace, RpcSpan, Telemetry, TraceContext, TraceSpan } from "./types.js";

/*
 * Tracing with the OpenTelemetry SDK. This module is imported only when
 * tracing is on (see index.ts), so a server without it loads none of it.
 * Nothing is registered globally: the provider, propagator and current span
 * belong to this server, so several servers (tests) can trace side by side.
 */

export interface OtelOptions {
  /** Where spans go instead of (or without) OTLP: tests pass an in-memory exporter, exported span by span. */
  exporter?: SpanExporter;
}

const propagator = new W3CTraceContextPropagator();
const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/** The W3C headers of the span current in `context`. */
function contextOf(context: Context): TraceContext {
  const carrier: Partial<TraceContext> = {};
  propagator.inject(context, carrier, {
    set(c, key, value) {
      (c as Record<string, string>)[key] = value;
    },
  });
  return { traceparent: carrier.traceparent ?? "", tracestate: carrier.tracestate ?? "" };
}

/** The error code's gRPC status number, the attribute every RPC backend reads. */
function setOutcome(span: Span, code: string | undefined, message?: string): void {
  if (code === undefined) {
    span.setAttribute("rpc.grpc.status_code", 0);
    return;
  }
  span.setAttribute("rpc.grpc.status_code", statusCode(code as ErrorCode));
  span.setAttribute("pyfleet.code", code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: message ?? code });
}

/** The tracing of a server: its own tracer provider and current-span storage. */
export function createOtelTelemetry(config: TelemetryConfig, options: OtelOptions = {}): Telemetry {
  const processors: SpanProcessor[] = [];
  if (config.otlpEndpoint) {
    const url = `${config.otlpEndpoint.replace(/\/+$/, "")}/v1/traces`;
    processors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url, headers: config.headers }) }));
  }
  if (options.exporter) processors.push(new SimpleSpanProcessor({ exporter: options.exporter }));
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": config.serviceName, "service.version": SERVER_VERSION }),
    // A caller's decision (the traceparent's sampled flag) wins; new traces are kept at sampleRatio.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: processors,
  });
  const tracer = provider.getTracer("pyfleet", SERVER_VERSION);
  const current = new AsyncLocalStorage<Context>();

  return {
    enabled: true,
    rpc(name, headers, attributes) {
      const parent = propagator.extract(ROOT_CONTEXT, headers, headerGetter);
      const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
      return new OtelRpcSpan(tracer, span, trace.setSpan(parent, span), current);
    },
    async span(name, attributes, fn) {
      const parent = current.getStore() ?? ROOT_CONTEXT;
      const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, parent);
      const handle = spanHandle(span);
      try {
        const value = await current.run(trace.setSpan(parent, span), () => fn(handle));
        handle.end();
        return value;
      } catch (e) {
        handle.end(errorCode(e), e instanceof Error ? e.message : String(e));
        throw e;
      }
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "internal";
}

function spanHandle(span: Span): TraceSpan {
  let ended = false;
  return {
    setAttributes(attributes) {
      span.setAttributes(attributes);
    },
    end(code, message) {
      if (ended) return;
      ended = true;
      setOutcome(span, code, message);
      span.end();
    },
  };
}

class OtelRpcSpan implements RpcSpan {
  private ended = false;
  private calls = 0;

  constructor(
    private readonly tracer: Tracer,
    private readonly span: Span,
    private readonly spanContext: Context,
    private readonly current: AsyncLocalStorage<Context>,
  ) {}

  setAttributes(attributes: Attributes): void {
    this.span.setAttributes(attributes);
  }

  end(code?: string, message?: string): void {
    if (this.ended) return;
    this.ended = true;
    setOutcome(this.span, code, message);
    this.span.end();
  }

  run<T>(fn: () => T): T {
    return this.current.run(this.spanContext, fn);
  }

  context(): TraceContext {
    return contextOf(this.spanContext);
  }

  call(pool: string, tool: string, sessionId: string): CallTrace {
    const attributes: Attributes = { "pyfleet.pool": pool, "pyfleet.tool": tool };
    if (sessionId !== "") attributes["pyfleet.session"] = sessionId;
    // An RPC that makes one call (Execute, ExecuteStream) is about that call; ExecuteMany's span lists its first.
    if (this.calls++ === 0) this.span.setAttributes(attributes);
    return new OtelCallTrace(this.tracer, this.spanContext, attributes);
  }
}

/** One pool call's queue, dispatch and run spans, children of its RPC's span (a retried call has one of each per attempt). */
class OtelCallTrace implements CallTrace {
  private queue: Span | undefined;
  private dispatch: Span | undefined;
  private running: Span | undefined;

  constructor(
    private readonly tracer: Tracer,
    private readonly parent: Context,
    private readonly attributes: Attributes,
  ) {
    // Every call has a queue span, from submit to dispatch: near zero when a worker was free.
    this.queued();
  }

  queued(): void {
    this.queue ??= this.tracer.startSpan("pyfleet.queue", { attributes: this.attributes }, this.parent);
  }

  dispatching(workerId: string, attempt: number): TraceContext {
    this.queue?.end();
    this.queue = undefined;
    const attributes = { ...this.attributes, "pyfleet.worker": workerId, "pyfleet.attempt": attempt };
    this.dispatch = this.tracer.startSpan("pyfleet.dispatch", { attributes }, this.parent);
    this.running = this.tracer.startSpan("pyfleet.run", { attributes }, this.parent);
    return contextOf(trace.setSpan(this.parent, this.running));
  }

  sent(refused: boolean): void {
    const span = this.dispatch;
    if (span === undefined) return;
    this.dispatch = undefined;
    if (refused) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: "the worker could not take the call; it waits for another" });
      // It never ran there.
      this.running?.end();
      this.running = undefined;
    }
    span.end();
  }

  ran(code: string | undefined): void {
    const span = this.running;
    if (span === undefined) return;
    this.running = undefined;
    setOutcome(span, code);
    span.end();
  }

  ended(code: string | undefined): void {
    if (this.queue !== undefined) {
      setOutcome(this.queue, code);
      this.queue.end();
      this.queue = undefined;
    }
    this.sent(false);
    // A run the caller stopped waiting for: Python is told to stop; the span ends now, with the caller's outcome.
    this.ran(code);
  }
}
