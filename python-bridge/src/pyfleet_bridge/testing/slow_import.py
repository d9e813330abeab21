"""An adapter whose import takes PYFLEET_TEST_IMPORT_SECONDS (default 1 s), like a heavy ML import."""

from __future__ import annotations

import os
import time
from typing import Any

from pyfleet_bridge import Adapter, tool

time.sleep(float(os.environ.get("PYFLEET_TEST_IMPORT_SECONDS", "1.0")))


class SlowImportAdapter(Adapter):
    @tool(idempotent=True)
    def echo(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs

    @tool(idempotent=True)
    def pid(self) -> int:
        return os.getpid()
