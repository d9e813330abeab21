"""Tools that crash, flood, hang or raise, to prove the server survives them."""

from __future__ import annotations

import ctypes
import os
import sys
import time
from typing import Any

from pyfleet_bridge import Adapter, tool


class CustomError(Exception):
    """A user-defined exception type (its qualified name reaches the client)."""


class ChaosAdapter(Adapter):
    @tool(idempotent=True)
    def echo(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs

    @tool(idempotent=True)
    def pid(self) -> int:
        return os.getpid()

    @tool
    def exit_now(self, code: int = 1) -> None:
        """Exits the process mid-call without cleanup."""
        os._exit(code)

    @tool
    def segfault(self) -> None:
        """Crashes in native code."""
        ctypes.string_at(0)

    @tool
    def flood(self, lines: int, stream: str = "stdout") -> int:
        """Prints many lines straight to stdout or stderr."""
        out = sys.stderr if stream == "stderr" else sys.stdout
        for i in range(lines):
            print(f"flood line {i} " + "x" * 60, file=out)
        out.flush()
        return lines

    @tool
    def hang(self) -> None:
        """Never returns and ignores cancellation."""
        while True:
            time.sleep(0.05)

    @tool
    def raise_custom(self) -> None:
        raise CustomError("a custom failure")
