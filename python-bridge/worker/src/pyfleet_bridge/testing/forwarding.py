"""The sample tools plus what the forwarding tests read: the deadline a call
arrived with, so a test sees that a session call forwarded between replicas
kept the caller's deadline."""

from __future__ import annotations

import os

from pyfleet_bridge import Context, tool
from pyfleet_bridge.samples import SampleAdapter


class ForwardingAdapter(SampleAdapter):
    @tool
    def deadline(self, ctx: Context) -> dict[str, object]:
        """Seconds left until this call's deadline (None without one) and the worker's pid."""
        return {"remaining": ctx.time_remaining(), "pid": os.getpid()}
