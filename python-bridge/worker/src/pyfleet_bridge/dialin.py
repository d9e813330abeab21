"""Dial-in: a worker on another machine attaches to a server over gRPC and serves a pool."""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from pyfleet_bridge._proto.worker.v1 import worker_pb2

from pyfleet_bridge.adapter import Adapter, collect_tools
from pyfleet_bridge.capture import capture_call_output, forward_logging
from pyfleet_bridge.link import ChunkCoalescer, LinkClosed
from pyfleet_bridge.wire import split_frames
from pyfleet_bridge.runtime import Runtime
from pyfleet_bridge.serve import EXIT_OK, EXIT_STARTUP, EXIT_USAGE, concurrency_of, hello, ready

MAX_BACKOFF_S = 10.0


class GrpcLink:
    """The link's frames carried as AttachRequest messages on one bidi stream."""

    def __init__(self) -> None:
        self._out: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = threading.Event()
        self._chunks = ChunkCoalescer(self.send_raw)
        self.responses: Iterator[Any] | None = None

    def send(self, frame: worker_pb2.WorkerFrame) -> None:
        if self._closed.is_set():
            raise LinkClosed()
        self._out.put(worker_pb2.AttachRequest(frame=frame))

    def send_chunk(self, call_id: int, data: bytes, raw: bool) -> None:
        self._chunks.chunk(call_id, data, raw)

    def send_after_chunks(self, frame: worker_pb2.WorkerFrame) -> None:
        self._chunks.frame(frame)

    def requests(self) -> Iterator[worker_pb2.AttachRequest]:
        while True:
            item = self._out.get()
            if item is None:
                return
            yield item

    def send_raw(self, data: bytes) -> None:
        """Length-prefixed frames (see wire.py), re-wrapped for the stream."""
        for body in split_frames(data):
            self.send(worker_pb2.WorkerFrame.FromString(body))

    def read_batch(self) -> list[worker_pb2.ServerFrame]:
        """The next frame; [] when the stream has ended."""
        assert self.responses is not None
        response = next(self.responses, None)
        return [] if response is None else [response.frame]

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._chunks.close()
            self._out.put(None)


def _channel(url: str) -> Any:
    import grpc

    parsed = urlparse(url if "://" in url else f"http://{url}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"--connect must be a URL like https://host:8080 (got {url!r})")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    target = f"{parsed.hostname}:{port}"
    if parsed.scheme == "https":
        return grpc.secure_channel(target, grpc.ssl_channel_credentials())
    return grpc.insecure_channel(target)


def run_dialin(url: str, token: str, pool: str, cls: type[Adapter], adapter_spec: str,
               requested_concurrency: int | None, reconnect: bool) -> int:
    """Attaches, serves until the stream ends, and (unless told not to) attaches again with backoff."""
    import grpc

    from pyfleet_bridge._proto.worker.v1 import worker_pb2_grpc

    if os.environ.get("PYFLEET_WATCH_STDIN") == "1":
        # Started by a local compute: exit with the server that started it.
        from pyfleet_bridge.liveness import watch_stdin

        watch_stdin()
    tools = collect_tools(cls)
    try:
        adapter = cls()
        adapter.setup()
    except BaseException as e:  # noqa: BLE001
        print(f"pyfleet worker: {cls.__qualname__}.setup() failed: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_STARTUP
    concurrency = concurrency_of(cls, requested_concurrency)
    backoff = 0.5
    fatal = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT,
             grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.PERMISSION_DENIED}
    while True:
        channel = _channel(url)
        link = GrpcLink()
        stopping = threading.Event()

        def exit_now(link: GrpcLink = link) -> None:
            stopping.set()
            link.close()
            os._exit(EXIT_OK)

        runtime = Runtime(adapter, tools, link, concurrency, on_shutdown=exit_now)
        link.send(hello(token, pool=pool, adapter=adapter_spec))
        link.send(ready(tools, concurrency, adapter_spec))
        forward_logging(link)
        capture_call_output(link)
        served = False
        try:
            link.responses = worker_pb2_grpc.WorkerLinkServiceStub(channel).Attach(link.requests())

            def read_batch(link: GrpcLink = link) -> list[worker_pb2.ServerFrame]:
                nonlocal served
                batch = link.read_batch()
                served = served or bool(batch)
                return batch

            runtime.run(read_batch)
        except grpc.RpcError as e:
            code = e.code()  # type: ignore[attr-defined]
            if code in fatal:
                print(f"pyfleet worker: the server refused the worker: {code.name}: {e.details()}", file=sys.stderr)  # type: ignore[attr-defined]
                return EXIT_USAGE
        finally:
            runtime.abandon_all()
            link.close()
            channel.close()
        if not reconnect or stopping.is_set():
            return EXIT_OK
        if served:
            backoff = 0.5
        time.sleep(backoff)  # reconnect backoff: time is the subject here
        backoff = min(MAX_BACKOFF_S, backoff * 2)
