"""Tools that print and log every way a tool can, for the log tests (WatchLogs, `pyfleet logs`)."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Iterator

from pyfleet_bridge import Adapter, Context, tool

LOG = logging.getLogger("chatty")

# At import: outside any call, so only operators see it.
print("chatty: imported")


class ChattyAdapter(Adapter):
    @tool
    def say(self, ctx: Context, text: str) -> str:
        """Writes `text` to stdout, stderr, two loggers and ctx.log, then half a line."""
        print(f"out: {text}")
        print(f"err: {text}", file=sys.stderr)
        LOG.info("info: %s", text)
        LOG.warning("warn: %s", text)
        ctx.log.error("ctx: %s", text)
        print(f"partial: {text}", end="")
        return text

    @tool
    async def say_async(self, text: str) -> str:
        print(f"async: {text}")
        LOG.warning("async warn: %s", text)
        return text

    @tool
    def say_each(self, text: str, n: int = 2) -> Iterator[int]:
        for i in range(n):
            print(f"chunk {i}: {text}")
            yield i

    @tool
    async def say_each_async(self, text: str, n: int = 2) -> AsyncIterator[int]:
        for i in range(n):
            print(f"achunk {i}: {text}")
            yield i

    @tool
    def flood(self, n: int, width: int = 0) -> int:
        """Prints `n` numbered lines, each padded to `width` characters."""
        for i in range(n):
            print(f"flood {i}".ljust(width, "."))
        return n
