"""A call the worker runs: its state, cancellation, stream credit, and its arguments bound to the tool's parameters."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyfleet_bridge import jsontext
from pyfleet_bridge._payload import serialize
from pyfleet_bridge._proto.worker.v1 import worker_pb2
from pyfleet_bridge.adapter import ToolInfo
from pyfleet_bridge.context import Context
from pyfleet_bridge.schema import check_value

_loads = jsontext.loads
K = worker_pb2


class Cancelled(Exception):
    """Raised inside the runtime when a call was cancelled while it ran."""


class Refused(Exception):
    """A call the worker will not run: `kind` is the worker link's ErrorKind."""

    def __init__(self, kind: int, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(slots=True)
class CallState:
    id: int
    info: ToolInfo
    ctx: Context
    kwargs: dict[str, Any]
    stream: bool
    window: int
    credits: int = 0
    #: Sync generators wait on it for credit (created only for them).
    cond: threading.Condition | None = None
    task: asyncio.Task[Any] | None = None
    credit_event: asyncio.Event | None = None
    started: float = 0.0

    def cancel(self, reason: str, loop: asyncio.AbstractEventLoop | None) -> None:
        """Cancels it from any thread: a sync generator waiting for credit wakes; an async call is cancelled on `loop`."""
        self.ctx.cancel(reason)
        if self.cond is not None:
            with self.cond:
                self.cond.notify_all()
        if self.info.is_async and loop is not None:
            loop.call_soon_threadsafe(self.cancel_on_loop, reason)

    def cancel_on_loop(self, reason: str) -> None:
        self.ctx.cancel(reason)
        if self.task is not None and not self.task.done():
            self.task.cancel()
        if self.credit_event is not None:
            self.credit_event.set()

    def grant(self, chunks: int, loop: asyncio.AbstractEventLoop | None) -> None:
        """More chunks the server will take (from the reading thread)."""
        if self.info.is_async and loop is not None:
            loop.call_soon_threadsafe(self._grant_on_loop, chunks)
            return
        if self.cond is None:
            return
        with self.cond:
            self.credits += chunks
            self.cond.notify_all()

    def _grant_on_loop(self, chunks: int) -> None:
        self.credits += chunks
        if self.credit_event is not None:
            self.credit_event.set()

    def drain_sync(self, gen: Any, send: Callable[[int, bytes, bool], None]) -> Any:
        """Sends a sync generator's items as chunks, within credit; returns its return value."""
        ctx = self.ctx
        cond = self.cond
        assert cond is not None
        while True:
            if ctx.cancelled:
                raise Cancelled()
            try:
                item = next(gen)
            except StopIteration as stop:
                return stop.value
            data, raw = serialize(item)
            with cond:
                while self.credits <= 0 and not ctx.cancelled:
                    cond.wait(ctx.time_remaining())
                if self.credits <= 0:  # the wait ended by cancellation
                    raise Cancelled()
                self.credits -= 1
            send(self.id, data, raw)

    async def drain_async(self, agen: Any, send: Callable[[int, bytes, bool], None]) -> None:
        """Sends an async generator's items as chunks, within credit."""
        self.credit_event = asyncio.Event()
        async for item in agen:
            if self.ctx.cancelled:
                raise Cancelled()
            data, raw = serialize(item)
            while self.credits <= 0:
                self.credit_event.clear()
                await self.credit_event.wait()
            self.credits -= 1
            send(self.id, data, raw)


def bind(info: ToolInfo, call: worker_pb2.Call) -> dict[str, Any]:
    """A call's keyword arguments, checked against the tool's signature; ValueError says what is wrong."""
    try:
        args = _loads(call.args.decode()) if call.args else {}
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"args are not valid JSON: {e}") from None
    except RecursionError:
        raise ValueError("args are nested too deeply for Python's JSON decoder; send flatter arguments") from None
    if not isinstance(args, dict):
        raise ValueError("args must be a JSON object of keyword arguments")
    for name, blob in call.binary_args.items():
        args[name] = bytes(blob)
    known = info.by_name
    kwargs: dict[str, Any] = {}
    for name, value in args.items():
        param = known.get(name)
        if param is None:
            if info.accepts_extra and name != info.ctx_param:
                kwargs[name] = value
                continue
            raise ValueError(f'tool "{info.name}" has no argument "{name}"; it takes: {", ".join(known) or "no arguments"}')
        kwargs[name] = check_value(info.name, name, param.type, value)
    missing = [name for name in info.required if name not in kwargs] if info.required else None
    if missing:
        raise ValueError(f'tool "{info.name}" is missing required argument{"s" if len(missing) > 1 else ""} '
                         + ", ".join(f'"{m}"' for m in missing))
    return kwargs


def admit(runtime: Any, call: worker_pb2.Call, tools: dict[str, ToolInfo], sessions: dict[str, dict[str, Any]]) -> CallState:
    """A call's state, ready to run; Refused if its tool is unknown or its arguments do not fit."""
    info = tools.get(call.tool)
    if info is None:
        raise Refused(K.ERROR_KIND_UNKNOWN_TOOL, f'unknown tool "{call.tool}"; known tools: {", ".join(sorted(tools))}')
    try:
        kwargs = bind(info, call)
    except ValueError as e:
        raise Refused(K.ERROR_KIND_BAD_ARGUMENTS, str(e)) from None
    if info.is_generator and not call.stream:
        raise Refused(K.ERROR_KIND_BAD_ARGUMENTS, f'tool "{info.name}" streams; call it with ExecuteStream')
    session_id = call.session_id or None
    state = sessions.setdefault(session_id, {}) if session_id else {}
    deadline = time.monotonic() + call.timeout_ms / 1000 if call.timeout_ms else None
    ctx = Context(runtime, call.id, info.name, session_id, state, deadline, call.request_id, call.traceparent, call.tracestate)
    if info.ctx_param:
        kwargs[info.ctx_param] = ctx
    window = max(1, call.chunk_window or 1)
    return CallState(call.id, info, ctx, kwargs, call.stream, window, credits=window,
                     cond=threading.Condition() if info.is_generator and not info.is_async else None, started=time.monotonic())
