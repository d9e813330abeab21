"""Fork mode: import the adapter once, then fork workers that share it copy-on-write."""

from __future__ import annotations

import gc
import os
import queue
import signal
import sys
import threading

from pyfleet_bridge._proto.worker.v1 import worker_pb2

from pyfleet_bridge.adapter import Adapter, collect_tools
from pyfleet_bridge.capture import forward_logging, redirect_output
from pyfleet_bridge.link import LinkClosed, SocketLink
from pyfleet_bridge.liveness import die_with_parent, watch_stdin
from pyfleet_bridge.serve import EXIT_OK, concurrency_of, hello, ready, serve


def thread_count() -> int:
    """Threads of this process, native ones included (0 where /proc is missing)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def fork_unsafe_reason(threads_started: int) -> str:
    """Why forking workers from this process could hang or crash them; "" when it looks safe.

    Only the forking thread survives a fork: a lock another thread held stays
    locked in the child forever, and a CUDA context does not survive at all."""
    if not os.path.isdir("/proc/self/task"):
        return "fork is only used on Linux"
    if threads_started > 0:
        return f"importing the adapter started {threads_started} thread{'s' if threads_started > 1 else ''}"
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    try:
        if cuda is not None and cuda.is_initialized():
            return "importing the adapter initialized CUDA"
    except Exception:  # noqa: BLE001 - a broken torch is not our concern here
        pass
    return ""


def run_template(link: SocketLink, cls: type[Adapter], adapter_spec: str, socket_path: str,
                 requested_concurrency: int | None, original_stderr: int, fork_unsafe: str = "") -> int:
    """Serves Fork requests until Shutdown or the server goes away."""
    tools = collect_tools(cls)
    # Objects imported so far stay out of the collector's reach, so forked
    # children do not touch (and copy) their pages.
    gc.freeze()
    forks: queue.SimpleQueue[worker_pb2.Fork | None] = queue.SimpleQueue()
    children: set[int] = set()
    children_changed = threading.Condition()

    def reap() -> None:
        while True:
            with children_changed:
                while not children:
                    children_changed.wait()
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                continue
            with children_changed:
                children.discard(pid)
            exited = worker_pb2.ChildExited(pid=pid)
            if os.WIFSIGNALED(status):
                exited.signal = os.WTERMSIG(status)
            else:
                exited.exit_code = os.waitstatus_to_exitcode(status)
            try:
                link.send(worker_pb2.WorkerFrame(child_exited=exited))
            except LinkClosed:
                return

    def read() -> None:
        for frame in link.frames():
            kind = frame.WhichOneof("frame")
            if kind == "fork":
                forks.put(frame.fork)
            elif kind == "ping":
                try:
                    link.send(worker_pb2.WorkerFrame(pong=worker_pb2.Pong(nonce=frame.ping.nonce)))
                except LinkClosed:
                    break
            elif kind == "shutdown":
                break
        forks.put(None)

    threading.Thread(target=reap, name="pyfleet-reaper", daemon=True).start()
    threading.Thread(target=read, name="pyfleet-template-link", daemon=True).start()
    link.send(ready(tools, concurrency_of(cls, requested_concurrency), adapter_spec, fork_unsafe))

    while True:
        fork = forks.get()
        if fork is None:
            break
        pid = os.fork()
        if pid == 0:
            _child(link, cls, adapter_spec, socket_path, requested_concurrency, original_stderr, fork)
        with children_changed:
            children.add(pid)
            children_changed.notify_all()
    with children_changed:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    link.close()
    os._exit(EXIT_OK)


def _child(parent_link: SocketLink, cls: type[Adapter], adapter_spec: str, socket_path: str,
           requested_concurrency: int | None, original_stderr: int, fork: worker_pb2.Fork) -> None:
    """Becomes a worker: leaves the template's link, connects with its own token, serves."""
    try:
        parent_link.detach()
        os.setpgid(0, 0)
        die_with_parent(signal.SIGKILL)
        watch_stdin()
        link = SocketLink.connect(socket_path)
        link.send(hello(fork.token))
        redirect_output(link, original_stderr)
        forward_logging(link)
        serve(link, cls, adapter_spec, requested_concurrency)
    finally:
        os._exit(EXIT_OK)
