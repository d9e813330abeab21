"""An adapter that allocates PYFLEET_TEST_IMPORT_MB (default 200) MiB at import, like loaded model weights."""

from __future__ import annotations

import os
from typing import Any

from pyfleet_bridge import Adapter, tool

WEIGHTS = bytearray(int(os.environ.get("PYFLEET_TEST_IMPORT_MB", "200")) * 1024 * 1024)
for _i in range(0, len(WEIGHTS), 4096):
    WEIGHTS[_i] = 1


class BigImportAdapter(Adapter):
    @tool(idempotent=True)
    def echo(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs

    @tool(idempotent=True)
    def pid(self) -> int:
        return os.getpid()

    @tool
    def weights_mb(self) -> int:
        return len(WEIGHTS) // (1024 * 1024)
