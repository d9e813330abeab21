"""Fixtures that start a real pyfleet server (Node) on a free loopback port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0
#: The version the server states (its package's version).
SERVER_VERSION = json.loads((REPO / "server" / "package.json").read_text())["version"]


class ServerProcess:
    """A `pyfleet serve` child process and the URL it listens on."""

    def __init__(self, env: dict[str, str]) -> None:
        self.data_dir = tempfile.mkdtemp(prefix="pyfleet-data-")
        self.proc = subprocess.Popen(
            ["node", "--conditions=pyfleet-source", "--import", "tsx", "server/src/cli/main.ts", "serve"],
            cwd=REPO,
            env={**os.environ, "PYFLEET_PYTHON": os.environ.get("PYFLEET_PYTHON") or sys.executable, "PYFLEET_HOST": "127.0.0.1", "PYFLEET_PORT": "0", "PYFLEET_DATA_DIR": self.data_dir, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.ready_ok = False
        ready = threading.Event()
        self.url = ""
        self.version = SERVER_VERSION

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.append(line)
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(record, dict):
                    continue
                if record.get("url"):
                    self.url = record["url"]
                if "ready" in record:
                    self.ready_ok = bool(record["ready"])
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(START_TIMEOUT_S) or not self.url or not self.ready_ok:
            self.stop()
            raise RuntimeError("pyfleet server did not start:\n" + "".join(self.lines))

    @property
    def target(self) -> str:
        """host:port for grpcio channels."""
        return self.url.removeprefix("http://")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        return self.proc.returncode


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    proc = ServerProcess({})
    yield proc
    proc.stop()


@pytest.fixture
def server_with_config(tmp_path: Path) -> Iterator[Callable[[str], ServerProcess]]:
    """Starts a server on a pyfleet.yaml of the given text; stops it after the test."""
    started: list[ServerProcess] = []

    def start(config_text: str) -> ServerProcess:
        config = tmp_path / "pyfleet.yaml"
        config.write_text(config_text)
        started.append(ServerProcess({"PYFLEET_CONFIG": str(config)}))
        return started[-1]

    yield start
    for proc in started:
        proc.stop()
