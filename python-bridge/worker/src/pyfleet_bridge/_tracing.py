"""Runs a tool inside its caller's OpenTelemetry context, when opentelemetry-api is installed.

The server sends each traced call's span context as a W3C `traceparent`; with it
attached as the current context, spans the tool starts (its own, or a library's
instrumentation) are children of the server's run span, in the caller's trace.
Nothing is imported until a traced call arrives, and without opentelemetry-api
a call runs as it would untraced (ctx.trace_id still says which trace it is in).
"""

from __future__ import annotations

from typing import Any

_MISSING: Any = object()
#: (context module, propagator) once imported; None when opentelemetry-api is not installed.
_otel: Any = _MISSING


def _load() -> Any:
    global _otel
    if _otel is _MISSING:
        try:
            from opentelemetry import context
            from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
        except ImportError:
            _otel = None
        else:
            _otel = (context, TraceContextTextMapPropagator())
    return _otel


def enter(traceparent: str, tracestate: str) -> object | None:
    """Makes the remote span current in this thread or task; returns the token for `leave`, or None."""
    otel = _load()
    if otel is None:
        return None
    context, propagator = otel
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    return context.attach(propagator.extract(carrier))


def leave(token: object | None) -> None:
    """Restores the context `enter` replaced."""
    if token is not None:
        _otel[0].detach(token)
