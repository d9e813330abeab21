"""An adapter whose setup() fails."""

from __future__ import annotations

from pyfleet_bridge import Adapter, tool


class BrokenSetupAdapter(Adapter):
    def setup(self) -> None:
        raise ConnectionError("cannot reach the model store")

    @tool
    def echo(self, x: int = 0) -> int:
        return x
