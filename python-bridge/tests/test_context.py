"""Waiting on a call's cancellation: one call's (ctx.wait) or any of a batch's (wait_any)."""

from __future__ import annotations

import threading
import time

from pyfleet_bridge import Context
from pyfleet_bridge.context import wait_any


def context(deadline: float | None = None) -> Context:
    return Context(None, 1, "t", None, {}, deadline, "")  # type: ignore[arg-type]


def test_wait_any_wakes_when_one_of_the_calls_is_cancelled_from_another_thread() -> None:
    batch = [context(), context(), context()]
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(wait_any(batch, 30)))
    started = time.monotonic()
    waiter.start()
    batch[1].cancel("client cancelled")
    waiter.join(10)
    assert got == [True]
    assert time.monotonic() - started < 10
    assert [c._waiters for c in batch] == [[], [], []]


def test_wait_any_wakes_at_the_earliest_deadline_and_marks_that_call_cancelled() -> None:
    soon, later = context(time.monotonic() + 0.05), context(time.monotonic() + 60)
    started = time.monotonic()
    assert wait_any([later, soon], 30) is True
    assert 0.04 <= time.monotonic() - started < 10
    assert (soon.cancel_reason, later.cancelled) == ("deadline", False)


def test_wait_any_returns_false_when_its_time_is_up_and_nothing_was_cancelled() -> None:
    batch = [context(), context()]
    assert wait_any(batch, 0.01) is False
    assert context().wait(0.01) is False


def test_a_cancel_before_the_wait_returns_at_once() -> None:
    ctx = context()
    ctx.cancel("client cancelled")
    started = time.monotonic()
    assert ctx.wait(30) is True
    assert wait_any([context(), ctx], 30) is True
    assert time.monotonic() - started < 5
