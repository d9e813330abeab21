"""Batch tools: specs, and a real worker gathering calls into batches, driven frame by frame over the link."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

from linkharness import W, Harness, Link, decode

from pyfleet_bridge import Adapter, Context, tool
from pyfleet_bridge.adapter import collect_tools, tool_spec
from pyfleet_bridge.testing.batching import BatchAdapter

ADAPTER = "pyfleet_bridge.testing.batching:BatchAdapter"


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness()
    yield h
    h.close()


def answers(link: Link, n: int) -> dict[int, Any]:
    """The next n answers by call id: the value of a result, or the Error frame."""
    got: dict[int, Any] = {}
    while len(got) < n:
        frame = link.recv()
        kind = frame.WhichOneof("frame")
        if kind == "result":
            got[frame.result.id] = decode(frame.result.value)
        elif kind == "error":
            got[frame.error.id] = frame.error
        else:
            raise AssertionError(f"expected a result or an error, got {frame}")
    return got


@pytest.fixture
def marker() -> Iterator[socket.socket]:
    """A listening Unix socket for the `block` tool's report; its path is the tool's `marker`."""
    # Not tmp_path: a Unix socket's path must stay under 108 bytes.
    directory = tempfile.mkdtemp(prefix="pyfleet-batch-")
    server = socket.socket(socket.AF_UNIX)
    server.bind(os.path.join(directory, "started"))
    server.listen()
    yield server
    server.close()
    shutil.rmtree(directory, ignore_errors=True)


def batch_started(server: socket.socket, timeout: float = 10.0) -> str:
    """The "<batch size> <pid>" a blocking batch sends once it runs."""
    server.settimeout(timeout)
    try:
        conn, _ = server.accept()
        with conn:
            text = b""
            while chunk := conn.recv(64):
                text += chunk
    except TimeoutError:
        raise AssertionError(f"no batch reported to {server.getsockname()} within {timeout} s") from None
    return text.decode()


# ---- specs ----


def test_a_batch_tool_declares_its_size_and_describes_one_call() -> None:
    tools = collect_tools(BatchAdapter)
    double = tool_spec(tools["double"])
    assert (double.batch_size, double.batch_wait_ms, double.idempotent, double.returns) == (4, 200.0, True, "dict[str, int]")
    assert [(p.name, p.type, p.annotation, p.required) for p in double.parameters] == [("x", "integer", "int", True)]
    check = tool_spec(tools["check"])
    assert [(p.name, p.type, p.required) for p in check.parameters] == [("x", "integer", True), ("scale", "integer", False)]
    assert check.parameters[1].default_value.number_value == 1
    assert tools["whoami"].ctx_param == "ctx" and [p.name for p in tools["whoami"].params] == ["x"]
    assert tools["adouble"].is_async
    plain = tool_spec(tools["forward_one"])
    assert (plain.batch_size, plain.batch_wait_ms) == (0, 0.0)


def test_batch_tools_that_cannot_work_are_refused_when_the_class_is_read() -> None:
    class NotAList(Adapter):
        @tool(batch_size=4)
        def f(self, x: int) -> list[int]:
            return [x]

    with pytest.raises(TypeError, match=r'batch tool "f": parameter "x" must be annotated list\[\.\.\.\]'):
        collect_tools(NotAList)

    class Generator(Adapter):
        @tool(batch_size=4)
        def g(self, x: list[int]):  # type: ignore[no-untyped-def]
            yield x

    with pytest.raises(TypeError, match='batch tool "g" is a generator'):
        collect_tools(Generator)

    class Kwargs(Adapter):
        @tool(batch_size=4)
        def k(self, **kwargs: Any) -> list[Any]:
            return []

    with pytest.raises(TypeError, match=r'batch tool "k" takes \*\*kwargs'):
        collect_tools(Kwargs)

    with pytest.raises(ValueError, match="batch_size=...\\) must be an int of at least 1, got 0"):
        tool(batch_size=0)
    with pytest.raises(ValueError, match="needs batch_size too"):
        tool(batch_wait_ms=5)
    with pytest.raises(ValueError, match="from 0 to 60000, got -1"):
        tool(batch_size=2, batch_wait_ms=-1)


def test_ctx_may_be_annotated_as_a_list_of_contexts() -> None:
    class Annotated(Adapter):
        @tool(batch_size=2)
        def f(self, calls: list[Context], x: list[str]) -> list[str]:
            return x

    info = collect_tools(Annotated)["f"]
    assert info.ctx_param == "calls" and [p.name for p in info.params] == ["x"]


# ---- a real worker ----


def test_a_full_batch_runs_at_once_and_the_rest_after_the_wait(harness: Harness) -> None:
    _, link, ready = harness.start(ADAPTER)
    assert {t.name: t.batch_size for t in ready.tools}["double"] == 4
    started = time.monotonic()
    for i in range(1, 7):
        link.call(i, "double", {"x": i})
    got = answers(link, 6)
    assert got == {i: {"x": 2 * i, "size": 4 if i <= 4 else 2} for i in range(1, 7)}
    # The short batch went when its 200 ms wait ran out (time is the subject here).
    assert time.monotonic() - started >= 0.19


def test_a_wait_of_zero_runs_each_batch_as_soon_as_a_slot_is_free(harness: Harness) -> None:
    _, link, _ = harness.start(ADAPTER)
    link.call(1, "eager", {"x": 5})
    assert answers(link, 1) == {1: {"x": 10, "size": 1}}


def test_each_call_gets_its_own_error_or_result(harness: Harness) -> None:
    _, link, _ = harness.start(ADAPTER)
    link.call(1, "check", {"x": 1, "scale": 10})
    link.call(2, "check", {"x": -2})
    link.call(3, "check", {"x": 3})
    got = answers(link, 3)
    assert got[1] == {"x": 10, "size": 3} and got[3] == {"x": 3, "size": 3}
    assert (got[2].kind, got[2].type, got[2].message) == (W.ERROR_KIND_TOOL_RAISED, "ValueError", "negative x: -2")
    # A bad argument is refused for its own call before it joins a batch.
    link.call(4, "check", {"x": "four"})
    bad = link.expect("error")
    assert (bad.id, bad.kind) == (4, W.ERROR_KIND_BAD_ARGUMENTS) and '"x"' in bad.message


def test_a_batch_that_raises_fails_every_call_in_it(harness: Harness) -> None:
    _, link, _ = harness.start(ADAPTER)
    for i in (1, 2, 3):
        link.call(i, "explode", {"x": i})
    got = answers(link, 3)
    for i in (1, 2, 3):
        assert (got[i].kind, got[i].type, got[i].message) == (W.ERROR_KIND_TOOL_RAISED, "RuntimeError", "the batch of 3 failed")
        assert "raise RuntimeError" in got[i].traceback and "_batches.py" not in got[i].traceback


def test_a_result_list_of_the_wrong_length_fails_every_call_with_a_clear_message(harness: Harness) -> None:
    _, link, _ = harness.start(ADAPTER)
    for i in (1, 2, 3):
        link.call(i, "short", {"x": i})
    got = answers(link, 3)
    for i in (1, 2, 3):
        assert (got[i].kind, got[i].type) == (W.ERROR_KIND_TOOL_RAISED, "TypeError")
        assert got[i].message == ('batch tool "short" returned 2 results for a batch of 3 calls; '
                                  "it must return a list with one result per call, in the order of its arguments")


def test_async_tools_batch_too(harness: Harness) -> None:
    _, link, _ = harness.start(ADAPTER)
    for i in range(1, 5):
        link.call(i, "adouble", {"x": i})
    assert answers(link, 4) == {i: {"x": 2 * i, "size": 4} for i in range(1, 5)}


def test_each_call_in_a_batch_has_its_own_context_and_session(harness: Harness) -> None:
    _, link, _ = harness.start(ADAPTER)
    for i, session in enumerate(["a", "b", "a", ""], start=1):
        link.call(i, "whoami", {"x": i}, session_id=session)
    got = answers(link, 4)
    assert got == {
        1: {"x": 1, "session": "a", "n": 1, "size": 4},
        2: {"x": 2, "session": "b", "n": 1, "size": 4},
        3: {"x": 3, "session": "a", "n": 2, "size": 4},
        4: {"x": 4, "session": None, "n": 1, "size": 4},
    }


def test_a_call_cancelled_or_revoked_while_it_waits_is_left_out_of_the_batch(harness: Harness) -> None:
    _, link, _ = harness.start(ADAPTER)
    for i in (1, 2, 3):
        link.call(i, "double", {"x": i})
    link.send(cancel=W.Cancel(id=1, reason="client cancelled"))
    link.send(cancel=W.Cancel(id=2, reason="moved to an idle worker", only_if_queued=True))
    got = answers(link, 3)
    assert (got[1].kind, got[1].message) == (W.ERROR_KIND_CANCELLED, 'tool "double" was cancelled before it started')
    assert got[2].kind == W.ERROR_KIND_NOT_STARTED
    assert got[3] == {"x": 6, "size": 1}


def test_a_call_whose_deadline_passed_while_it_waited_is_left_out(harness: Harness) -> None:
    _, link, _ = harness.start(ADAPTER)
    link.call(1, "double", {"x": 1}, timeout_ms=20)
    link.call(2, "double", {"x": 2})
    got = answers(link, 2)
    assert got[1].kind == W.ERROR_KIND_DEADLINE_EXCEEDED
    assert got[2] == {"x": 4, "size": 1}


def test_a_call_cancelled_while_its_batch_runs_is_answered_at_once_and_its_element_dropped(harness: Harness, marker: socket.socket) -> None:
    _, link, _ = harness.start(ADAPTER)
    link.call(1, "block", {"x": 1, "marker": marker.getsockname()})
    link.call(2, "block", {"x": 2})
    size, pid = batch_started(marker).split()
    assert size == "2"
    # Revoking a call that already runs leaves it alone: the pong comes first.
    link.send(cancel=W.Cancel(id=2, reason="moved", only_if_queued=True))
    link.send(ping=W.Ping(nonce=1))
    assert link.expect("pong").nonce == 1
    # `block` returns once one of its calls is cancelled.
    link.send(cancel=W.Cancel(id=1, reason="client cancelled"))
    got = answers(link, 2)
    assert (got[1].kind, got[1].message) == (W.ERROR_KIND_CANCELLED, 'tool "block" was cancelled')
    assert got[2] == {"x": 2, "size": 2, "pid": int(pid)}
    # Call 1's element was dropped: nothing more about it arrives.
    link.send(ping=W.Ping(nonce=2))
    assert link.expect("pong").nonce == 2


def test_a_due_batch_waits_for_a_free_slot_and_keeps_filling(harness: Harness, marker: socket.socket) -> None:
    _, link, _ = harness.start(ADAPTER, "--concurrency", "1")
    link.call(1, "block", {"x": 1, "marker": marker.getsockname()})
    batch_started(marker)
    # The one slot is taken by the running batch: this batch (wait 0) waits for it, and fills to 8.
    for i in range(2, 10):
        link.call(i, "eager", {"x": i})
    link.send(ping=W.Ping(nonce=7))
    assert link.expect("pong").nonce == 7
    link.send(cancel=W.Cancel(id=1, reason="client cancelled"))
    got = answers(link, 9)
    assert got[1].kind == W.ERROR_KIND_CANCELLED
    assert {i: got[i] for i in range(2, 10)} == {i: {"x": 2 * i, "size": 8} for i in range(2, 10)}


def test_shutdown_runs_waiting_batches_without_waiting_for_them_to_fill(harness: Harness) -> None:
    proc, link, _ = harness.start(ADAPTER)
    link.call(1, "full", {"x": 21})
    link.send(shutdown=W.Shutdown(grace_ms=5_000))
    assert answers(link, 1) == {1: {"x": 42, "size": 1}}
    assert proc.wait(timeout=10) == 0
