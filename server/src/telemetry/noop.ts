import type { Attributes, RpcSpan, Telemetry, TraceSpan } from "./types.js";

const NOOP_SPAN: TraceSpan = {
  setAttributes() {},
  end() {},
};

/** Tracing off: the RPC layer adds no interceptor, so `rpc` is never called on the hot path. */
export const NO_TELEMETRY: Telemetry = {
  enabled: false,
  rpc(): RpcSpan {
    throw new Error("tracing is off: no RPC spans (the trace interceptor is only installed when it is on)");
  },
  span<T>(_name: string, _attributes: Attributes, fn: (span: TraceSpan) => Promise<T>): Promise<T> {
    return fn(NOOP_SPAN);
  },
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};
