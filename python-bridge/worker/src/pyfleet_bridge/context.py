"""The `ctx` a tool may take: its session, state, variables, cancellation, deadline and logger."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pyfleet_bridge._codes import code_name

if TYPE_CHECKING:
    from pyfleet_bridge.runtime import Runtime


class CallbackError(Exception):
    """A request from Python to the server failed; `code` is the gRPC status number."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class VariableNotFound(CallbackError, KeyError):
    """No such session variable."""

    def __str__(self) -> str:
        return str(self.args[0])


class VersionConflict(CallbackError):
    """expected_version did not match: read the variable again and retry."""


def callback_error(code: int, message: str) -> CallbackError:
    name = code_name(code)
    if name == "not_found":
        return VariableNotFound(code, message)
    if name == "aborted":
        return VersionConflict(code, message)
    return CallbackError(code, message)


class Context:
    """Everything about the current call a tool may need.

    - `session_id`: the session's key in its pool, or None: its id, as `tenant/id` when the caller has an API key.
    - `state`: a dict that lives on this worker for the session (a fresh one per call without a session).
    - `cancelled`: true once the caller cancelled or the deadline passed; long loops should check it.
    - `deadline` / `time_remaining()`: the call's deadline (time.monotonic() based), if any.
    - `log`: a logger whose lines reach the server's log, tagged with this call.
    - variables: `get_variable`, `set_variable`, `list_variables`, `delete_variable` (and `a...` async twins).
    - `call_tool(name, **args)`: runs another tool of the pool.
    - `trace_id` / `span_id`: the W3C trace this call belongs to and the server's span that runs it
      (hex), or None when the server does not trace. With opentelemetry-api installed, the tool
      runs inside that trace's context, so its own spans join it (see docs/telemetry.md).
    """

    def __init__(self, runtime: Runtime, call_id: int, tool: str, session_id: str | None, state: dict[str, Any],
                 deadline: float | None, request_id: str, traceparent: str = "", tracestate: str = "") -> None:
        self._runtime = runtime
        self.call_id = call_id
        self.tool = tool
        self.session_id = session_id
        self.state = state
        self.deadline = deadline
        self.request_id = request_id
        #: The server's span for this run, W3C `traceparent` form ("" when not traced).
        self.traceparent = traceparent
        self.tracestate = tracestate
        # A plain flag: most calls are never cancelled, and an Event costs more
        # than a whole call. Events exist only while something waits (wait_any).
        self._cancelled = False
        self._waiters: list[threading.Event] = []
        self.cancel_reason = ""
        self._log: logging.LoggerAdapter[logging.Logger] | None = None

    @property
    def log(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger whose lines reach the server's log, tagged with this call."""
        if self._log is None:
            self._log = logging.LoggerAdapter(logging.getLogger(f"pyfleet.tool.{self.tool}"), {"pyfleet_call_id": self.call_id})
        return self._log

    @property
    def trace_id(self) -> str | None:
        """The W3C trace id (32 hex digits) the call belongs to, or None when the server does not trace."""
        parts = self.traceparent.split("-")
        return parts[1] if len(parts) >= 4 and len(parts[1]) == 32 else None

    @property
    def span_id(self) -> str | None:
        """The id (16 hex digits) of the server's span that runs this call: a tool's own spans are its children."""
        parts = self.traceparent.split("-")
        return parts[2] if len(parts) >= 4 and len(parts[2]) == 16 else None

    @property
    def cancelled(self) -> bool:
        if self._cancelled:
            return True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.cancel("deadline")
            return True
        return False

    def time_remaining(self) -> float | None:
        """Seconds until the deadline (0 once it has passed), or None without one."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    def wait(self, seconds: float) -> bool:
        """Sleeps up to `seconds`, waking early on cancellation; True if cancelled."""
        return wait_any((self,), seconds)

    def cancel(self, reason: str) -> None:
        if not self._cancelled:
            self.cancel_reason = reason
            self._cancelled = True
        for event in tuple(self._waiters):
            event.set()

    # ---- session variables (through the server) ----

    def get_variable(self, name: str) -> Any:
        return self._runtime.callbacks.call(self, "get_variable", name=name)

    def set_variable(self, name: str, value: Any, *, type: str | None = None, expected_version: int | None = None) -> int:
        """Creates or updates a session variable; returns its new version."""
        return int(self._runtime.callbacks.call(self, "set_variable", name=name, value=value, type=type, expected_version=expected_version))

    def list_variables(self) -> dict[str, Any]:
        return dict(self._runtime.callbacks.call(self, "list_variables"))

    def delete_variable(self, name: str) -> None:
        self._runtime.callbacks.call(self, "delete_variable", name=name)

    def call_tool(self, tool: str, **args: Any) -> Any:
        """Runs another tool of the same pool (outside any session) and returns its value."""
        return self._runtime.callbacks.call(self, "call_tool", tool=tool, args=args)

    async def aget_variable(self, name: str) -> Any:
        return await self._runtime.callbacks.acall(self, "get_variable", name=name)

    async def aset_variable(self, name: str, value: Any, *, type: str | None = None, expected_version: int | None = None) -> int:
        return int(await self._runtime.callbacks.acall(self, "set_variable", name=name, value=value, type=type, expected_version=expected_version))

    async def alist_variables(self) -> dict[str, Any]:
        return dict(await self._runtime.callbacks.acall(self, "list_variables"))

    async def adelete_variable(self, name: str) -> None:
        await self._runtime.callbacks.acall(self, "delete_variable", name=name)

    async def acall_tool(self, tool: str, **args: Any) -> Any:
        return await self._runtime.callbacks.acall(self, "call_tool", tool=tool, args=args)


def wait_any(contexts: Sequence[Context], seconds: float) -> bool:
    """Sleeps up to `seconds`, waking as soon as any of `contexts` (a batch
    tool's calls) is cancelled or reaches its deadline; True if one was."""
    event = threading.Event()
    deadlines = [r for c in contexts if (r := c.time_remaining()) is not None]
    for c in contexts:
        c._waiters.append(event)
    try:
        # Checked after joining the waiters: a cancel before that set only the flag.
        if not any(c._cancelled for c in contexts):
            event.wait(min([seconds, *deadlines]))
    finally:
        for c in contexts:
            c._waiters.remove(event)
    return any(c.cancelled for c in contexts)
