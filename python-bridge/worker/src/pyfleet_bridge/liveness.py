"""A worker never outlives its server: stdin EOF and the Linux parent-death signal."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Asks the kernel to send `sig` when our parent exits (Linux; a no-op elsewhere).

    Works even while native code holds the GIL, which the stdin watcher cannot."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):
        return


def check_parent() -> None:
    """Exits at once if the server that started us is already gone (it died before prctl took effect)."""
    expected = os.environ.get("PYFLEET_PARENT_PID")
    if expected and expected.isdigit() and os.getppid() != int(expected):
        os._exit(0)


def watch_stdin() -> None:
    """Exits the process when stdin (a pipe from the server) reaches EOF: the server is gone."""

    def watch() -> None:
        while True:
            try:
                data = os.read(0, 4096)
            except OSError:
                data = b""
            if not data:
                os._exit(0)

    threading.Thread(target=watch, name="pyfleet-stdin", daemon=True).start()
