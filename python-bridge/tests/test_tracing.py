"""A traced call over the worker link: the tool runs inside its caller's OpenTelemetry context."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from linkharness import W, Harness, Link, decode

from pyfleet_bridge import _tracing
from pyfleet_bridge.context import Context

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
RUN_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{RUN_SPAN}-01"
ADAPTER = "pyfleet_bridge.testing.traced:TracedAdapter"


@pytest.fixture
def link() -> Iterator[Link]:
    h = Harness()
    try:
        _, link, _ = h.start(ADAPTER, "--concurrency", "2")
        yield link
    finally:
        h.close()


def stream(link: Link, call_id: int) -> list[Any]:
    items: list[Any] = []
    while True:
        frame = link.recv()
        kind = frame.WhichOneof("frame")
        if kind == "chunk":
            items += [decode(p) for p in frame.chunk.items]
        elif kind == "result":
            return items
        else:
            raise AssertionError(f"call {call_id}: {frame}")


def spans_named(link: Link, call_id: int) -> dict[str, dict[str, Any]]:
    link.call(call_id, "spans")
    return {s["name"]: s for s in link.result(call_id)}


SEEN = {"trace_id": TRACE_ID, "span_id": RUN_SPAN, "current_trace_id": TRACE_ID}


def test_sync_and_async_tools_spans_are_children_of_the_servers_run_span(link: Link) -> None:
    link.call(1, "work", traceparent=TRACEPARENT, tracestate="vendor=1")
    assert link.result(1) == SEEN
    link.call(2, "awork", traceparent=TRACEPARENT)
    assert link.result(2) == SEEN
    spans = spans_named(link, 3)
    for name in ("work", "awork"):
        assert (spans[name]["trace_id"], spans[name]["parent_id"], spans[name]["remote_parent"]) == (TRACE_ID, RUN_SPAN, True)


def test_generator_tools_keep_the_context_for_every_item(link: Link) -> None:
    link.send(call=W.Call(id=1, tool="gen_work", args=b'{"n": 2}', stream=True, chunk_window=8, traceparent=TRACEPARENT))
    assert stream(link, 1) == [SEEN, SEEN]
    link.send(call=W.Call(id=2, tool="agen_work", args=b'{"n": 2}', stream=True, chunk_window=8, traceparent=TRACEPARENT))
    assert stream(link, 2) == [SEEN, SEEN]
    spans = spans_named(link, 3)
    for name in ("gen_work.0", "gen_work.1", "agen_work.0", "agen_work.1"):
        assert (spans[name]["trace_id"], spans[name]["parent_id"]) == (TRACE_ID, RUN_SPAN)


def test_an_untraced_call_starts_its_own_trace_and_leaves_no_context_behind(link: Link) -> None:
    link.call(1, "work", traceparent=TRACEPARENT)
    assert link.result(1) == SEEN
    # Whichever thread runs the next call, the previous call's context is gone.
    link.call(2, "work")
    seen = link.result(2)
    assert (seen["trace_id"], seen["span_id"]) == (None, None)
    assert seen["current_trace_id"] not in (None, TRACE_ID)
    spans = spans_named(link, 3)
    assert spans["work"]["parent_id"] is None


def test_ctx_trace_ids_come_from_the_traceparent() -> None:
    ctx = Context(None, 1, "t", None, {}, None, "", TRACEPARENT)  # type: ignore[arg-type]
    assert (ctx.trace_id, ctx.span_id) == (TRACE_ID, RUN_SPAN)
    untraced = Context(None, 1, "t", None, {}, None, "")  # type: ignore[arg-type]
    assert (untraced.trace_id, untraced.span_id) == (None, None)


def test_without_opentelemetry_installed_a_traced_call_runs_as_usual(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tracing, "_otel", None)
    assert _tracing.enter(TRACEPARENT, "") is None
    _tracing.leave(None)
