"""An adapter whose import starts a thread (as some libraries do), which makes
forking workers from it unsafe: startMode "auto" spawns them instead."""

from __future__ import annotations

import threading
from typing import Any

from pyfleet_bridge import Adapter, tool

_stop = threading.Event()
threading.Thread(target=_stop.wait, name="started-at-import", daemon=True).start()


class ThreadImportAdapter(Adapter):
    @tool(idempotent=True)
    def echo(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs
