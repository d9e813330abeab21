"""Tools that start their own OpenTelemetry spans, with an in-memory exporter in
each worker, to prove a tool's spans join the caller's trace (tests; needs
opentelemetry-sdk, which the repository's dev extra installs)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pyfleet_bridge import Adapter, Context, tool

_EXPORTER = InMemorySpanExporter()


def _ids(ctx: Context) -> dict[str, Any]:
    current = trace.get_current_span().get_span_context()
    return {
        "trace_id": ctx.trace_id,
        "span_id": ctx.span_id,
        "current_trace_id": trace.format_trace_id(current.trace_id) if current.is_valid else None,
    }


class TracedAdapter(Adapter):
    def setup(self) -> None:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
        self.tracer = trace.get_tracer("pyfleet.testing.traced")

    @tool
    def work(self, ctx: Context) -> dict[str, Any]:
        """Runs inside a span of its own; returns the ids ctx and OpenTelemetry see."""
        with self.tracer.start_as_current_span("work"):
            return _ids(ctx)

    @tool
    async def awork(self, ctx: Context) -> dict[str, Any]:
        with self.tracer.start_as_current_span("awork"):
            await asyncio.sleep(0)
            return _ids(ctx)

    @tool
    def gen_work(self, ctx: Context, n: int) -> Iterator[dict[str, Any]]:
        for i in range(n):
            with self.tracer.start_as_current_span(f"gen_work.{i}"):
                yield _ids(ctx)

    @tool
    async def agen_work(self, ctx: Context, n: int) -> AsyncIterator[dict[str, Any]]:
        for i in range(n):
            with self.tracer.start_as_current_span(f"agen_work.{i}"):
                await asyncio.sleep(0)
                yield _ids(ctx)

    @tool
    def spans(self) -> list[dict[str, Any]]:
        """The spans this worker's tools finished so far: name, trace id, span id, parent span id."""
        return [{
            "name": s.name,
            "trace_id": trace.format_trace_id(s.context.trace_id),
            "span_id": trace.format_span_id(s.context.span_id),
            "parent_id": trace.format_span_id(s.parent.span_id) if s.parent else None,
            "remote_parent": bool(s.parent and s.parent.is_remote),
        } for s in _EXPORTER.get_finished_spans()]
