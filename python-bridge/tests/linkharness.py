"""Plays the server's side of the worker link, so tests can drive a real worker process frame by frame."""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from pyfleet_bridge._proto.worker.v1 import worker_pb2

W = worker_pb2
HEADER = struct.Struct(">I")
TIMEOUT_S = 15.0


class Link:
    """One accepted worker connection."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.conn.settimeout(TIMEOUT_S)
        self.buf = b""
        self.logs: list[worker_pb2.Log] = []

    def send(self, **frame: Any) -> None:
        body = W.ServerFrame(**frame).SerializeToString()
        self.conn.sendall(HEADER.pack(len(body)) + body)

    def recv(self) -> worker_pb2.WorkerFrame:
        """The next frame that is not a Log (logs are kept in .logs)."""
        while True:
            frame = self._recv_any()
            if frame.WhichOneof("frame") == "log":
                self.logs.append(frame.log)
                continue
            return frame

    def _recv_any(self) -> worker_pb2.WorkerFrame:
        while len(self.buf) < 4 or len(self.buf) < 4 + HEADER.unpack_from(self.buf)[0]:
            data = self.conn.recv(1 << 16)
            if not data:
                raise EOFError("the worker closed the link")
            self.buf += data
        (size,) = HEADER.unpack_from(self.buf)
        frame = W.WorkerFrame.FromString(self.buf[4:4 + size])
        self.buf = self.buf[4 + size:]
        return frame

    def expect(self, kind: str) -> Any:
        frame = self.recv()
        got = frame.WhichOneof("frame")
        assert got == kind, f"expected {kind}, got {got}: {frame}"
        return getattr(frame, kind)

    def until_log(self, predicate: Callable[[worker_pb2.Log], bool]) -> worker_pb2.Log:
        """Reads frames until a Log matching `predicate` arrives (other frames are an error)."""
        for log in self.logs:
            if predicate(log):
                return log
        while True:
            frame = self._recv_any()
            if frame.WhichOneof("frame") != "log":
                raise AssertionError(f"expected a log line, got {frame}")
            self.logs.append(frame.log)
            if predicate(frame.log):
                return frame.log

    def call(self, id: int, tool: str, args: dict[str, Any] | None = None, **fields: Any) -> None:
        self.send(call=W.Call(id=id, tool=tool, args=json.dumps(args or {}).encode(), **fields))

    def result(self, id: int) -> Any:
        frame = self.recv()
        kind = frame.WhichOneof("frame")
        if kind == "error":
            raise AssertionError(f"call {id} failed: {frame.error}")
        assert kind == "result" and frame.result.id == id, frame
        return decode(frame.result.value)


def decode(payload: worker_pb2.Payload) -> Any:
    kind = payload.WhichOneof("kind")
    if kind == "raw":
        return payload.raw
    return json.loads(payload.json) if kind == "json" else None


class Harness:
    """A listening socket and the worker processes started against it."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="pyfleet-test-")
        self.path = os.path.join(self.dir, "link.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(16)
        self.server.settimeout(TIMEOUT_S)
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, adapter: str = "pyfleet_bridge.samples:SampleAdapter", *extra: str, token: str = "tok",
              env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pyfleet_bridge.worker", "--adapter", adapter, "--socket", self.path, *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYFLEET_WORKER_TOKEN": token, "PYFLEET_PARENT_PID": str(os.getpid()), **(env or {})},
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def accept(self, token: str = "tok") -> tuple[Link, worker_pb2.Hello]:
        conn, _ = self.server.accept()
        link = Link(conn)
        hello = link.expect("hello")
        assert hello.token == token
        return link, hello

    def start(self, adapter: str = "pyfleet_bridge.samples:SampleAdapter", *extra: str, env: dict[str, str] | None = None
              ) -> tuple[subprocess.Popen[bytes], Link, worker_pb2.Ready]:
        proc = self.spawn(adapter, *extra, env=env)
        link, _ = self.accept()
        return proc, link, link.expect("ready")

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, 9)
                except ProcessLookupError:
                    pass
                proc.wait()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream:
                    stream.close()
        self.server.close()


def wait_gone(pid: int, timeout: float = 5.0) -> None:
    """Waits until a process (not necessarily our child) has exited.

    A pidfd becomes readable when the process exits, so this waits for that
    event rather than polling /proc."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    if not readable:
        raise AssertionError(f"process {pid} is still alive after {timeout} s")
