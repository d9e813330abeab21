"""The sample adapter `npm start` serves and the tests use. Its tools and their shapes are a contract."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from pyfleet_bridge import Adapter, Context, tool

_HELD: list[bytearray] = []


class SampleAdapter(Adapter):
    """Small tools that exercise every feature of the runtime."""

    @tool(idempotent=True)
    def echo(self, **kwargs: Any) -> dict[str, Any]:
        """Returns its keyword arguments."""
        return kwargs

    @tool(idempotent=True)
    def add(self, a: float, b: float) -> float:
        """Adds two numbers."""
        return a + b

    @tool
    def count(self, n: int) -> Iterator[dict[str, int]]:
        """Streams {"i": i} for i in 0..n-1."""
        for i in range(n):
            yield {"i": i}

    @tool
    def sleep(self, ctx: Context, seconds: float) -> dict[str, float]:
        """Sleeps, waking at once when the call is cancelled or its deadline passes."""
        ctx.wait(seconds)
        return {"slept": seconds}

    @tool
    def fail(self, message: str) -> None:
        """Raises ValueError(message)."""
        raise ValueError(message)

    @tool
    def counter(self, ctx: Context) -> int:
        """Increments and returns a counter kept on this worker for the session."""
        ctx.state["counter"] = ctx.state.get("counter", 0) + 1
        return int(ctx.state["counter"])

    @tool(idempotent=True)
    def getvar(self, ctx: Context, name: str) -> Any:
        """Returns a session variable."""
        return ctx.get_variable(name)

    @tool
    def setvar(self, ctx: Context, name: str, value: Any) -> int:
        """Sets a session variable; returns its new version."""
        return ctx.set_variable(name, value)

    @tool(idempotent=True)
    def pid(self) -> int:
        """The worker's process id."""
        return os.getpid()

    @tool
    def alloc(self, mb: int) -> int:
        """Allocates and holds `mb` MiB (pages touched); returns the MiB held in total."""
        block = bytearray(mb * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        _HELD.append(block)
        return sum(len(b) for b in _HELD) // (1024 * 1024)

    @tool
    def spin(self, ctx: Context, ms: int) -> dict[str, int]:
        """Burns CPU for `ms` milliseconds (stops early when cancelled)."""
        end = time.perf_counter() + ms / 1000
        x = 0
        while time.perf_counter() < end and not ctx.cancelled:
            x += 1
        return {"spun_ms": ms}

    @tool
    async def async_sleep(self, seconds: float) -> dict[str, float]:
        """Sleeps on the event loop; cancellation cancels it."""
        await asyncio.sleep(seconds)
        return {"slept": seconds}

    @tool
    async def agen_count(self, n: int) -> AsyncIterator[dict[str, int]]:
        """Streams {"i": i} from an async generator."""
        for i in range(n):
            yield {"i": i}

    @tool
    def stream_bytes(self, n: int, size: int = 16) -> Iterator[bytes]:
        """Streams n chunks of `size` bytes."""
        for i in range(n):
            yield bytes([i % 256]) * size
