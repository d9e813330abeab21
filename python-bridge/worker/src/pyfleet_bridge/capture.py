"""What user code prints, and what it logs, becomes Log frames: it can never corrupt the link."""

from __future__ import annotations

import faulthandler
import logging
import os
import sys
import threading

from pyfleet_bridge._proto.worker.v1 import worker_pb2

from pyfleet_bridge.link import Link, LinkClosed

_CHUNK = 64 * 1024
_LEVELS = [
    (logging.ERROR, worker_pb2.LOG_LEVEL_ERROR),
    (logging.WARNING, worker_pb2.LOG_LEVEL_WARNING),
    (logging.INFO, worker_pb2.LOG_LEVEL_INFO),
]


def _send(link: Link, level: int, logger: str, message: str, call_id: int = 0) -> None:
    try:
        link.send(worker_pb2.WorkerFrame(log=worker_pb2.Log(level=level, message=message, logger=logger, call_id=call_id)))
    except LinkClosed:
        pass


def redirect_output(link: Link, original_stderr: int | None = None) -> int:
    """Points fds 1 and 2 at pipes read by threads that forward each chunk as a Log frame.

    Returns a duplicate of the original stderr (or `original_stderr`, in a forked
    child), kept for faulthandler so a native crash still leaves a traceback in
    the server's log."""
    original = os.dup(2) if original_stderr is None else original_stderr
    faulthandler.enable(file=open(original, "w", closefd=False), all_threads=True)  # noqa: SIM115
    for fd, name, level in ((1, "stdout", worker_pb2.LOG_LEVEL_INFO), (2, "stderr", worker_pb2.LOG_LEVEL_WARNING)):
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        threading.Thread(target=_pump, args=(read_end, link, name, level), name=f"pyfleet-{name}", daemon=True).start()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            pass
    return original


def _pump(fd: int, link: Link, name: str, level: int) -> None:
    while True:
        try:
            data = os.read(fd, _CHUNK)
        except OSError:
            return
        if not data:
            return
        _send(link, level, name, data.decode("utf-8", "replace").rstrip("\n"))


class LinkLogHandler(logging.Handler):
    """Forwards log records as Log frames, with the call id when a tool logged through ctx.log."""

    def __init__(self, link: Link) -> None:
        super().__init__(logging.INFO)
        self.link = link

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
        except Exception:  # noqa: BLE001
            message = record.getMessage()
        level = next((pb for py, pb in _LEVELS if record.levelno >= py), worker_pb2.LOG_LEVEL_DEBUG)
        _send(self.link, level, record.name, message, int(getattr(record, "pyfleet_call_id", 0)))


def forward_logging(link: Link) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, LinkLogHandler):
            root.removeHandler(handler)
    root.addHandler(LinkLogHandler(link))
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
