"""Batch tools for the runtime's and the server's tests, and the `batch.throughput` benchmark.

Each result reports the size of the batch that produced it, so a test can
assert exactly how calls were gathered.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import Any

from pyfleet_bridge import Adapter, Context, tool
from pyfleet_bridge.context import wait_any


class BatchAdapter(Adapter):
    @tool(idempotent=True, batch_size=4, batch_wait_ms=200)
    def double(self, x: list[int]) -> list[dict[str, int]]:
        """Doubles each x; each result says how many calls its batch held."""
        return [{"x": 2 * v, "size": len(x)} for v in x]

    @tool(batch_size=16, batch_wait_ms=10_000)
    def full(self, x: list[int]) -> list[dict[str, int]]:
        """Like double, but only full batches run (the wait is 10 s)."""
        return [{"x": 2 * v, "size": len(x)} for v in x]

    @tool(batch_size=8, batch_wait_ms=0)
    def eager(self, x: list[int]) -> list[dict[str, int]]:
        """Like double, but a batch runs as soon as a slot is free (no wait)."""
        return [{"x": 2 * v, "size": len(x)} for v in x]

    @tool(batch_size=3, batch_wait_ms=200)
    def check(self, x: list[int], scale: list[int] = 1) -> list[Any]:  # type: ignore[assignment]
        """x * scale per call; a negative x fails only its own call (ValueError)."""
        return [ValueError(f"negative x: {v}") if v < 0 else {"x": v * s, "size": len(x)} for v, s in zip(x, scale)]

    @tool(batch_size=3, batch_wait_ms=200)
    def explode(self, x: list[int]) -> list[int]:
        """Raises for the whole batch."""
        raise RuntimeError(f"the batch of {len(x)} failed")

    @tool(batch_size=3, batch_wait_ms=200)
    def short(self, x: list[int]) -> list[int]:
        """Returns one result too few."""
        return x[:-1]

    @tool(batch_size=4, batch_wait_ms=200)
    async def adouble(self, x: list[int]) -> list[dict[str, int]]:
        """Doubles each x on the event loop."""
        await asyncio.sleep(0)
        return [{"x": 2 * v, "size": len(x)} for v in x]

    @tool(batch_size=4, batch_wait_ms=50)
    def whoami(self, ctx: list[Context], x: list[int]) -> list[dict[str, Any]]:
        """Each call's session, and how many calls of that session this worker ran so far."""
        out = []
        for c, v in zip(ctx, x):
            c.state["n"] = c.state.get("n", 0) + 1
            out.append({"x": v, "session": c.session_id, "n": c.state["n"], "size": len(x)})
        return out

    @tool(idempotent=True, batch_size=4, batch_wait_ms=200)
    def block(self, ctx: list[Context], x: list[int], marker: list[str] = "") -> list[dict[str, int]]:  # type: ignore[assignment]
        """The first batch to name a `marker` (a Unix socket the test listens on) sends
        "<batch size> <pid>" there, then waits until one of its calls is cancelled (or 30 s
        pass); later batches naming it (a retry on another worker) return at once."""
        paths = {p for p in marker if p}
        if paths and all(os.path.exists(p + ".ran") for p in paths):
            return [{"x": v, "size": len(x), "pid": os.getpid()} for v in x]  # a retry: the first batch ran
        for path in paths:
            open(path + ".ran", "w").close()  # before the report, so a retry the test causes sees it
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(path)
                s.sendall(f"{len(x)} {os.getpid()}".encode())
        wait_any(ctx, 30)
        return [{"x": v, "size": len(x), "pid": os.getpid()} for v in x]

    @tool(batch_size=4, batch_wait_ms=200)
    def block_once(self, ctx: list[Context], x: list[int], marker: list[str] = "") -> list[dict[str, int]]:  # type: ignore[assignment]
        """Not idempotent: otherwise like block."""
        return self.block(ctx, x, marker)

    @tool(idempotent=True, batch_size=32, batch_wait_ms=2)
    def forward(self, x: list[float]) -> list[dict[str, float]]:
        """A model's forward pass: about 2 ms per invocation plus 0.02 ms per item (it sleeps, as a wait on a GPU does)."""
        time.sleep(0.002 + 0.00002 * len(x))
        return [{"y": v + 1, "size": len(x)} for v in x]

    @tool(idempotent=True)
    def forward_one(self, x: float) -> dict[str, float]:
        """The same forward pass for one item at a time: the unbatched baseline."""
        time.sleep(0.002 + 0.00002)
        return {"y": x + 1, "size": 1}
