"""A tool that reports the environment its worker sees, to prove what the pool
gives each worker (GPUs, thread limits) without needing a GPU."""

from __future__ import annotations

import os
import socket

from pyfleet_bridge import Adapter, tool


class EnvironAdapter(Adapter):
    @tool
    def environ(self, names: list[str], barrier: str = "") -> dict[str, object]:
        """This worker's pid and the values of `names` (None when unset).

        With `barrier` (a Unix socket the test listens on), connects there and
        waits for "go", which the test sends once as many calls as it wants have
        connected: so concurrent calls each reach a different worker (each runs
        one call at a time)."""
        if barrier:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(20)
                s.connect(barrier)
                answer = b""
                try:
                    while chunk := s.recv(16):
                        answer += chunk
                except TimeoutError:
                    pass
                if answer != b"go":
                    raise TimeoutError(f"the barrier at {barrier} did not open within 20 s (answer {answer!r}): fewer calls reached it than the test waits for")
        return {"pid": os.getpid(), "env": {name: os.environ.get(name) for name in names}}
