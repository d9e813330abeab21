"""pyfleet_bridge: the runtime that serves Python tools to a pyfleet pool.

    from pyfleet_bridge import Adapter, Context, tool

    class Models(Adapter):
        @tool(idempotent=True)
        def predict(self, text: str, top_k: int = 3) -> list[dict]:
            \"\"\"Score a text; returns the top_k labels.\"\"\"
            ...

Run it with `python -m pyfleet_bridge.worker --adapter mypkg.models:Models` (the
server does this for you).
"""

from pyfleet_bridge.adapter import Adapter, tool
from pyfleet_bridge.context import CallbackError, Context, VariableNotFound, VersionConflict

__version__ = "0.1.0"
__all__ = ["Adapter", "CallbackError", "Context", "VariableNotFound", "VersionConflict", "tool"]
