"""Serving a link: the handshake after Hello, then frames until the link closes."""

from __future__ import annotations

import os
import platform
import socket
import traceback

from pyfleet_bridge._proto.worker.v1 import worker_pb2

from pyfleet_bridge.adapter import Adapter, ToolInfo, collect_tools, tool_spec
from pyfleet_bridge.link import Link, LinkClosed, ProtocolError
from pyfleet_bridge._payload import exception_type
from pyfleet_bridge.runtime import Runtime

PROTOCOL_VERSION = 1
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_STARTUP = 3
EXIT_PROTOCOL = 4


def hello(token: str, *, template: bool = False, pool: str = "", adapter: str = "") -> worker_pb2.WorkerFrame:
    return worker_pb2.WorkerFrame(hello=worker_pb2.Hello(
        token=token, pid=os.getpid(), protocol_version=PROTOCOL_VERSION, hostname=socket.gethostname(),
        template=template, pool=pool, adapter=adapter))


def startup_failed(link: Link, phase: str, e: BaseException) -> None:
    frame = worker_pb2.WorkerFrame(startup_failed=worker_pb2.StartupFailed(
        phase=phase, type=exception_type(e), message=str(e), traceback="".join(traceback.format_exception(e))))
    try:
        link.send(frame)
    except LinkClosed:
        pass


def ready(tools: dict[str, ToolInfo], concurrency: int, adapter: str, fork_unsafe: str = "") -> worker_pb2.WorkerFrame:
    return worker_pb2.WorkerFrame(ready=worker_pb2.Ready(
        tools=[tool_spec(t) for t in tools.values()], concurrency=concurrency, adapter=adapter,
        python_version=platform.python_version(), fork_unsafe=fork_unsafe))


def start_adapter(link: Link, cls: type[Adapter]) -> Adapter:
    """Instantiates the adapter and runs setup(); reports a failure and exits 3."""
    try:
        adapter = cls()
        adapter.setup()
    except BaseException as e:  # noqa: BLE001 - any failure here is reported to the server
        startup_failed(link, "setup", e)
        traceback.print_exc()
        os._exit(EXIT_STARTUP)
    return adapter


def concurrency_of(cls: type[Adapter], requested: int | None) -> int:
    return max(1, requested or cls.concurrency or 1)


def serve(link: Link, cls: type[Adapter], adapter_spec: str, requested_concurrency: int | None) -> int:
    """Runs a local worker: setup(), Ready, then calls until the server closes the link."""
    tools = collect_tools(cls)
    adapter = start_adapter(link, cls)
    concurrency = concurrency_of(cls, requested_concurrency)

    def exit_now() -> None:
        link.close()
        os._exit(EXIT_OK)

    runtime = Runtime(adapter, tools, link, concurrency, on_shutdown=exit_now)
    link.send(ready(tools, concurrency, adapter_spec))
    try:
        runtime.run(link.read_batch)
    except ProtocolError as e:
        print(f"pyfleet worker: protocol error on the link: {e}", file=os.fdopen(os.dup(2), "w"))
        os._exit(EXIT_PROTOCOL)
    # The server closed the link: it is gone or has let us go.
    os._exit(EXIT_OK)
