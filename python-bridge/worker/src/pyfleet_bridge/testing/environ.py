"""A tool that reports the environment its worker sees, to prove what the pool
gives each worker (GPUs, thread limits) without needing a GPU."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pyfleet_bridge import Adapter, tool


class EnvironAdapter(Adapter):
    @tool
    def environ(self, names: list[str], barrier: str = "", parties: int = 1) -> dict[str, object]:
        """This worker's pid and the values of `names` (None when unset).

        With `barrier` (a directory), waits until `parties` workers have
        arrived there, so `parties` concurrent calls each reach a different
        worker (each runs one call at a time)."""
        if barrier:
            Path(barrier, str(os.getpid())).touch()
            deadline = time.monotonic() + 20
            while len(os.listdir(barrier)) < parties:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {len(os.listdir(barrier))} of {parties} workers reached {barrier}")
                time.sleep(0.005)
        return {"pid": os.getpid(), "env": {name: os.environ.get(name) for name in names}}
