"""The worker's end of the link: frames over a Unix socket (or, dialing in, over gRPC)."""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections import deque
from collections.abc import Iterator
from typing import Protocol

from pyfleet_bridge._proto.worker.v1 import worker_pb2

from pyfleet_bridge.wire import chunk_frame

MAX_FRAME_BYTES = 64 * 1024 * 1024
_HEADER = struct.Struct(">I")


class LinkClosed(Exception):
    """The server end is gone."""


class ProtocolError(Exception):
    """The server sent something that is not a frame."""


class Link(Protocol):
    def send(self, frame: worker_pb2.WorkerFrame) -> None: ...

    def send_chunk(self, call_id: int, data: bytes, raw: bool) -> None: ...

    def send_after_chunks(self, frame: worker_pb2.WorkerFrame) -> None: ...

    def send_raw(self, data: bytes) -> None: ...

    def read_batch(self) -> list[worker_pb2.ServerFrame]: ...

    def close(self) -> None: ...


class ChunkCoalescer:
    """Streams chunks through one writer thread that packs whatever has queued up
    since its last write into as few frames as possible: a fast generator gets
    big frames, a slow one gets each chunk sent at once."""

    def __init__(self, write: WriteBytes) -> None:
        self._write = write
        #: (call id, data, raw) for a chunk, or (0, frame, False) for a frame that follows them.
        self._queue: deque[tuple[int, bytes | worker_pb2.WorkerFrame, bool]] = deque()
        # A plain lock: nothing here takes it twice, and an RLock costs more per chunk.
        self._ready = threading.Condition(threading.Lock())
        #: The writer is waiting for work: only then does a chunk need to wake it.
        self._idle = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="pyfleet-chunks", daemon=True)
        self._thread.start()

    def chunk(self, call_id: int, data: bytes, raw: bool) -> None:
        with self._ready:
            self._queue.append((call_id, data, raw))
            if self._idle:
                # Once: the chunks that follow before it runs join the same write.
                self._idle = False
                self._ready.notify()

    def frame(self, frame: worker_pb2.WorkerFrame) -> None:
        """A frame that must follow the chunks queued before it (a stream's Result or Error)."""
        with self._ready:
            self._queue.append((0, frame, False))
            self._ready.notify()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._idle = True
                    self._ready.wait()
                    self._idle = False
                if not self._queue and self._closed:
                    return
                batch = list(self._queue)
                self._queue.clear()
            parts: list[bytes] = []
            current_id = 0
            items: list[tuple[bytes, bool]] = []
            for call_id, item, raw in batch:
                if items and call_id != current_id:
                    parts.append(chunk_frame(current_id, items))
                    items = []
                if isinstance(item, bytes):
                    current_id = call_id
                    items.append((item, raw))
                else:
                    body = item.SerializeToString()
                    parts.append(_HEADER.pack(len(body)) + body)
            if items:
                parts.append(chunk_frame(current_id, items))
            try:
                self._write(b"".join(parts))
            except LinkClosed:
                return


class WriteBytes(Protocol):
    def __call__(self, data: bytes) -> None: ...


class SocketLink:
    """Length-prefixed frames over a connected Unix socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        # recv_into one reused buffer: a fresh large bytes object per read
        # would cost an mmap and munmap each time.
        self._rchunk = bytearray(1 << 16)
        self._rview = memoryview(self._rchunk)
        self._rbuf = bytearray()
        self._lock = threading.Lock()
        self._closed = False
        self._chunks = ChunkCoalescer(self._sendall)

    @classmethod
    def connect(cls, path: str) -> SocketLink:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        return cls(sock)

    @property
    def fileno(self) -> int:
        return self._sock.fileno()

    def send(self, frame: worker_pb2.WorkerFrame) -> None:
        body = frame.SerializeToString()
        self._sendall(_HEADER.pack(len(body)) + body)

    def send_chunk(self, call_id: int, data: bytes, raw: bool) -> None:
        self._chunks.chunk(call_id, data, raw)

    def send_after_chunks(self, frame: worker_pb2.WorkerFrame) -> None:
        self._chunks.frame(frame)

    def _sendall(self, data: bytes) -> None:
        with self._lock:
            if self._closed:
                raise LinkClosed()
            try:
                self._sock.sendall(data)
            except OSError as e:
                self._closed = True
                raise LinkClosed() from e

    def read_batch(self) -> list[worker_pb2.ServerFrame]:
        """Blocks for the next frames from the server; [] once it has closed the link.

        Not thread-safe: one reader at a time (the runtime's read lock)."""
        parse = worker_pb2.ServerFrame.FromString
        unpack = _HEADER.unpack_from
        buf = self._rbuf
        while True:
            frames: list[worker_pb2.ServerFrame] = []
            offset = 0
            available = len(buf)
            while available - offset >= 4:
                (size,) = unpack(buf, offset)
                if size > MAX_FRAME_BYTES:
                    raise ProtocolError(f"frame of {size} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")
                end = offset + 4 + size
                if end > available:
                    break
                frames.append(parse(bytes(buf[offset + 4:end])))
                offset = end
            if offset:
                del buf[:offset]
            if frames:
                return frames
            try:
                n = self._sock.recv_into(self._rview)
            except OSError:
                n = 0
            if n == 0:
                self._closed = True
                return []
            buf += self._rview[:n]

    def frames(self) -> Iterator[worker_pb2.ServerFrame]:
        """Frames from the server until it closes the link (single reader)."""
        while True:
            batch = self.read_batch()
            if not batch:
                return
            yield from batch

    def send_raw(self, data: bytes) -> None:
        """Writes already length-prefixed frames (see wire.py)."""
        self._sendall(data)

    def detach(self) -> None:
        """Closes this process's descriptor without shutting the connection down
        (a forked child leaving its parent's link, which the parent keeps using)."""
        self._closed = True
        try:
            os.close(self._sock.detach())
        except OSError:
            pass

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._chunks.close()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
