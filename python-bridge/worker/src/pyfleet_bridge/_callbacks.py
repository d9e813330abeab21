"""Requests from a tool to the server (session variables, nested tool calls), each matched to its answer by id."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyfleet_bridge import _values as values
from pyfleet_bridge._codes import STATUS_CODES
from pyfleet_bridge._payload import decode
from pyfleet_bridge._proto.worker.v1 import worker_pb2
from pyfleet_bridge.context import callback_error
from pyfleet_bridge.link import Link

if TYPE_CHECKING:
    from pyfleet_bridge.context import Context

K = worker_pb2


class Callbacks:
    """The worker's callbacks in flight: `call` (threads) and `acall` (the event loop) send one and
    wait for its answer, which the runtime's reader hands to `deliver`."""

    def __init__(self, link: Link) -> None:
        self._link = link
        self._lock = threading.Lock()
        self._waiting: dict[int, Callable[[worker_pb2.CallbackResult], None]] = {}
        self._next = 1

    def call(self, ctx: Context, op: str, **kw: Any) -> Any:
        done = threading.Event()
        box: list[worker_pb2.CallbackResult] = []

        def arrived(result: worker_pb2.CallbackResult) -> None:
            box.append(result)
            done.set()

        self._send(ctx, op, kw, arrived)
        done.wait()
        return _value(op, box[0])

    async def acall(self, ctx: Context, op: str, **kw: Any) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[worker_pb2.CallbackResult] = loop.create_future()
        self._send(ctx, op, kw, lambda r: loop.call_soon_threadsafe(future.set_result, r))
        return _value(op, await future)

    def deliver(self, result: worker_pb2.CallbackResult) -> None:
        with self._lock:
            arrived = self._waiting.pop(result.id, None)
        if arrived:
            arrived(result)

    def abandon(self) -> None:
        """The link dropped: every callback still waiting fails with UNAVAILABLE."""
        with self._lock:
            waiting = list(self._waiting.values())
            self._waiting.clear()
        for arrived in waiting:
            arrived(K.CallbackResult(error=K.CallbackError(code=STATUS_CODES["unavailable"], message="the link to the server was lost")))

    def _send(self, ctx: Context, op: str, kw: dict[str, Any], arrived: Callable[[worker_pb2.CallbackResult], None]) -> None:
        with self._lock:
            cb_id = self._next
            self._next = 1 if cb_id >= 0xFFFFFFFF else cb_id + 1
            self._waiting[cb_id] = arrived
        self._link.send(K.WorkerFrame(callback=_callback(cb_id, ctx.call_id, op, kw)))


def _callback(cb_id: int, call_id: int, op: str, kw: dict[str, Any]) -> worker_pb2.Callback:
    cb = K.Callback(id=cb_id, call_id=call_id)
    if op == "get_variable":
        cb.get_variable.name = kw["name"]
    elif op == "set_variable":
        cb.set_variable.name = kw["name"]
        cb.set_variable.value.CopyFrom(values.to_typed(kw["value"], kw.get("type")))
        cb.set_variable.type = values.variable_type(kw.get("type"))
        if kw.get("expected_version") is not None:
            cb.set_variable.expected_version = kw["expected_version"]
    elif op == "list_variables":
        cb.list_variables.SetInParent()
    elif op == "delete_variable":
        cb.delete_variable.name = kw["name"]
    elif op == "call_tool":
        cb.call_tool.tool = kw["tool"]
        cb.call_tool.args = json.dumps(kw.get("args") or {}).encode()
    return cb


def _value(op: str, result: worker_pb2.CallbackResult) -> Any:
    if result.WhichOneof("outcome") == "error":
        raise callback_error(result.error.code, result.error.message)
    if op == "get_variable":
        return values.from_typed(result.variable.value)
    if op == "set_variable":
        return result.variable.version
    if op == "list_variables":
        return {v.name: values.from_typed(v.value) for v in result.variables.variables}
    if op == "call_tool":
        return decode(result.value)
    return None
