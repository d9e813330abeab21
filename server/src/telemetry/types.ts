/**
 * What the server's rooms see of tracing: a handful of hooks. The pool
 * engine, compute and the RPC layer call these; only `otel.ts` knows
 * OpenTelemetry, and it is loaded only when tracing is on.
 */

/** Span attribute values, as OpenTelemetry takes them. */
export type Attributes = Record<string, string | number | boolean>;

/** The W3C trace context of a span, as the `traceparent`/`tracestate` headers carry it. */
export interface TraceContext {
  traceparent: string;
  tracestate: string;
}

/**
 * One pool call's spans, driven by the scheduler: `pyfleet.queue` while it
 * waits for a worker, `pyfleet.dispatch` while it is handed to one, and
 * `pyfleet.run` from then until the worker answers. Codes are the
 * PyfleetError code names ("unknown", "canceled"...); undefined is success.
 */
export interface CallTrace {
  /** The call starts waiting in the queue. */
  queued(): void;
  /** The call goes to `workerId` (attempt 1, 2...): ends the queue wait, starts dispatch and run; the run's context goes to Python. */
  dispatching(workerId: string, attempt: number): TraceContext;
  /** The Call frame is on the link (or the worker refused it: `refused`). */
  sent(refused: boolean): void;
  /** The worker answered (or died): ends the run span. */
  ran(code: string | undefined): void;
  /** The call settled: ends whatever span is still open with `code`. */
  ended(code: string | undefined): void;
}

/** Starts the traces of the calls an RPC makes (ExecuteMany makes many). */
export interface CallTracer {
  call(pool: string, tool: string, sessionId: string): CallTrace;
}

/** A span the caller ends. */
export interface TraceSpan {
  setAttributes(attributes: Attributes): void;
  /** Ends it: undefined is success, else an error code name and message. */
  end(code?: string, message?: string): void;
}

/** An RPC's server span: the parent of the spans of everything it does. */
export interface RpcSpan extends TraceSpan, CallTracer {
  /** Runs `fn` with this span current, so spans `Telemetry.span` starts inside are its children. */
  run<T>(fn: () => T): T;
  /** This span's W3C context, for a request this RPC makes to another server (a forwarded call). */
  context(): TraceContext;
}

/** Tracing, on (OpenTelemetry) or off (NO_TELEMETRY: nothing loaded, nothing allocated). */
export interface Telemetry {
  readonly enabled: boolean;
  /** A server span for an RPC, continuing the caller's W3C trace context when `headers` carry one. */
  rpc(name: string, headers: Headers, attributes: Attributes): RpcSpan;
  /** Runs `fn` in an internal span, a child of the current RPC's span (compute spawns, jobs). */
  span<T>(name: string, attributes: Attributes, fn: (span: TraceSpan) => Promise<T>): Promise<T>;
  /** Exports what is buffered. */
  flush(): Promise<void>;
  /** Flushes and stops exporting. */
  shutdown(): Promise<void>;
}
