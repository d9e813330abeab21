"""pyfleet: the Python client SDK, and the generated protobuf code of the contract.

    from pyfleet import Client
    with Client("http://127.0.0.1:8080") as client:
        print(client.execute("add", {"a": 1, "b": 2}))

The generated modules live in sub-packages named after the proto packages
(`pyfleet.pool.v1`, `pyfleet.compute.v1`, ...). Importing `pyfleet` itself stays
cheap (no grpc import) because every worker process imports the generated code.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Client": "pyfleet.client",
    "Session": "pyfleet.client",
    "ComputeHandle": "pyfleet.client",
    "AsyncClient": "pyfleet.aio",
    "AsyncSession": "pyfleet.aio",
    "AsyncComputeHandle": "pyfleet.aio",
    "PyfleetError": "pyfleet.errors",
    "ToolError": "pyfleet.errors",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyfleet' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
