"""What user code prints, and what it logs, becomes Log frames: it can never corrupt the link.

Each frame names the call that wrote it when Python knows: `print()` and
`logging` during a tool's run (on the thread or task running it) carry the
call's id, so the server can tag the line with its session, request and tool.
Output outside a call, from threads a tool started, and native writes to file
descriptors 1 and 2 reach the server untagged.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import sys
import threading
from contextvars import ContextVar
from typing import Any, TextIO

from pyfleet_bridge._proto.worker.v1 import worker_pb2

from pyfleet_bridge.link import Link, LinkClosed

_CHUNK = 64 * 1024
_LEVELS = [
    (logging.ERROR, worker_pb2.LOG_LEVEL_ERROR),
    (logging.WARNING, worker_pb2.LOG_LEVEL_WARNING),
    (logging.INFO, worker_pb2.LOG_LEVEL_INFO),
]

#: The call whose tool runs in this thread or task; 0 outside calls.
_current_call: ContextVar[int] = ContextVar("pyfleet_call", default=0)


def _send(link: Link | None, level: int, logger: str, message: str, call_id: int, source: int) -> None:
    if link is None:
        return
    try:
        link.send(worker_pb2.WorkerFrame(log=worker_pb2.Log(level=level, message=message, logger=logger, call_id=call_id, source=source)))
    except LinkClosed:
        pass


class _CallStream:
    """Stands in for sys.stdout/sys.stderr: lines written during a call leave as
    Log frames tagged with it; anything else goes to the real stream (the pipe,
    or a dial-in worker's console)."""

    def __init__(self, inner: TextIO, name: str, level: int, source: int) -> None:
        self._inner = inner
        self._name = name
        self._level = level
        self._source = source
        self.link: Link | None = None
        #: Unfinished lines by call id (print writes the text and "\n" apart).
        self._partial: dict[int, str] = {}
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        call_id = _current_call.get()
        if not call_id or self.link is None:
            return self._inner.write(text)
        with self._lock:
            whole = self._partial.pop(call_id, "") + text
            head, newline, rest = whole.rpartition("\n")
            if rest:
                self._partial[call_id] = rest
        if newline:
            for line in head.split("\n"):
                _send(self.link, self._level, self._name, line, call_id, self._source)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        call_id = _current_call.get()
        if call_id:
            self.end_call(call_id)
        self._inner.flush()

    def end_call(self, call_id: int) -> None:
        """Sends what the call left without a final newline."""
        if not self._partial:
            return
        with self._lock:
            rest = self._partial.pop(call_id, None)
        if rest:
            _send(self.link, self._level, self._name, rest, call_id, self._source)

    def __getattr__(self, name: str) -> Any:
        # fileno, isatty, encoding, buffer, ...: the real stream's.
        return getattr(self._inner, name)


_streams: list[_CallStream] = []


def enter_call(call_id: int) -> None:
    """Marks this thread or task as running `call_id` (the runtime calls it as a tool starts)."""
    _current_call.set(call_id)


def leave_call(call_id: int) -> None:
    """Ends the mark and sends the call's unfinished lines; before its result, so they are still tagged."""
    _current_call.set(0)
    for stream in _streams:
        stream.end_call(call_id)


def capture_call_output(link: Link) -> None:
    """Tags what tools print during calls; the rest goes where it went before."""
    if not _streams:
        for attr, level, source in (("stdout", worker_pb2.LOG_LEVEL_INFO, worker_pb2.LOG_SOURCE_STDOUT),
                                    ("stderr", worker_pb2.LOG_LEVEL_WARNING, worker_pb2.LOG_SOURCE_STDERR)):
            stream = _CallStream(getattr(sys, attr), attr, level, source)
            setattr(sys, attr, stream)
            _streams.append(stream)
    for stream in _streams:
        stream.link = link
        # A forked child starts here with one thread: a lock the template held is not held here.
        stream._lock = threading.Lock()
        stream._partial.clear()


def redirect_output(link: Link, original_stderr: int | None = None) -> int:
    """Points fds 1 and 2 at pipes read by threads that forward each line as a Log frame.

    Returns a duplicate of the original stderr (or `original_stderr`, in a forked
    child), kept for faulthandler so a native crash still leaves a traceback in
    the server's log."""
    original = os.dup(2) if original_stderr is None else original_stderr
    faulthandler.enable(file=open(original, "w", closefd=False), all_threads=True)  # noqa: SIM115
    for fd, name, level, source in ((1, "stdout", worker_pb2.LOG_LEVEL_INFO, worker_pb2.LOG_SOURCE_STDOUT),
                                    (2, "stderr", worker_pb2.LOG_LEVEL_WARNING, worker_pb2.LOG_SOURCE_STDERR)):
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        threading.Thread(target=_pump, args=(read_end, link, name, level, source), name=f"pyfleet-{name}", daemon=True).start()
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            pass
    capture_call_output(link)
    return original


def _pump(fd: int, link: Link, name: str, level: int, source: int) -> None:
    while True:
        try:
            data = os.read(fd, _CHUNK)
        except OSError:
            return
        if not data:
            return
        for line in data.decode("utf-8", "replace").rstrip("\n").split("\n"):
            _send(link, level, name, line, 0, source)


class LinkLogHandler(logging.Handler):
    """Forwards log records as Log frames, tagged with the call that logged them (ctx.log, or any logger during a call)."""

    def __init__(self, link: Link) -> None:
        super().__init__(logging.INFO)
        self.link = link

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
        except Exception:  # noqa: BLE001
            message = record.getMessage()
        level = next((pb for py, pb in _LEVELS if record.levelno >= py), worker_pb2.LOG_LEVEL_DEBUG)
        call_id = int(getattr(record, "pyfleet_call_id", 0)) or _current_call.get()
        _send(self.link, level, record.name, message, call_id, worker_pb2.LOG_SOURCE_LOGGING)


def forward_logging(link: Link) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, LinkLogHandler):
            root.removeHandler(handler)
    root.addHandler(LinkLogHandler(link))
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
