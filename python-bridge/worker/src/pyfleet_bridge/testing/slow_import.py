"""An adapter whose import takes PYFLEET_TEST_IMPORT_SECONDS (default 1 s) of CPU, like a heavy ML import
(torch, transformers): CPU-bound, so N of them at once share the machine's cores."""

from __future__ import annotations

import os
import time
from typing import Any

from pyfleet_bridge import Adapter, tool

_end = time.process_time() + float(os.environ.get("PYFLEET_TEST_IMPORT_SECONDS", "1.0"))
while time.process_time() < _end:
    pass


class SlowImportAdapter(Adapter):
    @tool(idempotent=True)
    def echo(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs

    @tool(idempotent=True)
    def pid(self) -> int:
        return os.getpid()
