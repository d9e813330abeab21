"""A real worker process driven frame by frame over the link."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from linkharness import HEADER, W, Harness, decode, wait_gone

from pyfleet._codes import STATUS_CODES
from pyfleet_bridge.runtime import MAX_QUEUED


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness()
    yield h
    h.close()


def test_handshake_declares_tools_and_concurrency(harness: Harness) -> None:
    proc, link, ready = harness.start("pyfleet_bridge.samples:SampleAdapter", "--concurrency", "3")
    assert ready.concurrency == 3
    names = {t.name for t in ready.tools}
    assert {"echo", "add", "count", "sleep", "fail", "counter", "getvar", "setvar", "pid", "alloc", "spin"} <= names
    link.call(1, "pid")
    assert link.result(1) == proc.pid


def test_unary_calls_and_their_errors(harness: Harness) -> None:
    _, link, _ = harness.start()
    link.call(1, "add", {"a": 1, "b": 2.5})
    assert link.result(1) == 3.5
    link.call(2, "fail", {"message": "boom"})
    err = link.expect("error")
    assert (err.id, err.kind, err.type, err.message) == (2, W.ERROR_KIND_TOOL_RAISED, "ValueError", "boom")
    assert "Traceback" in err.traceback and "raise ValueError(message)" in err.traceback
    # It starts at the tool's frame: none of the runtime's own.
    assert "runtime.py" not in err.traceback and "_calls.py" not in err.traceback and "samples.py" in err.traceback
    link.call(3, "nope")
    assert link.expect("error").kind == W.ERROR_KIND_UNKNOWN_TOOL
    link.call(4, "add", {"a": "x", "b": 1})
    bad = link.expect("error")
    assert bad.kind == W.ERROR_KIND_BAD_ARGUMENTS and '"a"' in bad.message
    link.call(5, "add", {"a": 1})
    assert '"b"' in link.expect("error").message
    link.call(6, "count", {"n": 2})
    assert "ExecuteStream" in link.expect("error").message


def test_arguments_and_results_nested_too_deeply_are_refused_and_the_worker_keeps_serving(harness: Harness) -> None:
    _, link, _ = harness.start()
    deep = "[" * 50_000 + "]" * 50_000
    link.send(call=W.Call(id=1, tool="echo", args=f'{{"x": {deep}}}'.encode()))
    err = link.expect("error")
    assert (err.id, err.kind) == (1, W.ERROR_KIND_BAD_ARGUMENTS)
    assert err.message == "args are nested too deeply for Python's JSON decoder; send flatter arguments"
    link.call(2, "echo", {"x": 1})
    assert link.result(2) == {"x": 1}


def test_bytes_results_and_binary_args(harness: Harness) -> None:
    _, link, _ = harness.start()
    link.send(call=W.Call(id=1, tool="stream_bytes", args=b'{"n": 1, "size": 4}', stream=True, chunk_window=8))
    chunk = link.expect("chunk")
    assert decode(chunk.items[0]) == b"\x00" * 4
    assert link.expect("result").id == 1


def test_streams_respect_credit(harness: Harness) -> None:
    _, link, _ = harness.start()
    link.send(call=W.Call(id=7, tool="count", args=b'{"n": 10}', stream=True, chunk_window=3))
    got: list[int] = []
    while len(got) < 3:
        got += [decode(p)["i"] for p in link.expect("chunk").items]
    assert got == [0, 1, 2]
    # Without credit the worker must wait: a ping is answered before any further chunk.
    link.send(ping=W.Ping(nonce=42))
    assert link.expect("pong").nonce == 42
    link.send(credit=W.Credit(id=7, chunks=100))
    while len(got) < 10:
        got += [decode(p)["i"] for p in link.expect("chunk").items]
    assert got == list(range(10))
    assert link.expect("result").id == 7


def test_results_of_a_batch_all_arrive_and_none_waits_behind_a_slow_call(harness: Harness) -> None:
    _, link, _ = harness.start()
    link.call(1, "echo", {"i": 1})  # the runtime learns that echo is fast
    assert link.result(1) == {"i": 1}
    frames = [W.ServerFrame(call=W.Call(id=i, tool="echo", args=json.dumps({"i": i}).encode())) for i in range(2, 7)]
    frames.append(W.ServerFrame(call=W.Call(id=7, tool="sleep", args=b'{"seconds": 60}')))
    link.conn.sendall(b"".join(HEADER.pack(f.ByteSize()) + f.SerializeToString() for f in frames))
    # Results held to share a write leave before the slow call runs (or, at
    # the latest, when an idle thread takes over reading); one held behind
    # it would only come after 60 s, and the read times out.
    for i in range(2, 7):
        assert link.result(i) == {"i": i}
    link.send(cancel=W.Cancel(id=7, reason="test"))
    assert link.expect("error").kind == W.ERROR_KIND_CANCELLED


@pytest.mark.parametrize("tool", ["sleep", "async_sleep"])
def test_cancel_stops_a_running_tool(harness: Harness, tool: str) -> None:
    _, link, _ = harness.start()
    link.call(1, tool, {"seconds": 60})
    link.send(ping=W.Ping(nonce=1))  # once answered, the call frame has been read
    assert link.expect("pong").nonce == 1
    started = time.monotonic()
    link.send(cancel=W.Cancel(id=1, reason="test"))
    err = link.expect("error")
    assert (err.id, err.kind) == (1, W.ERROR_KIND_CANCELLED)
    assert time.monotonic() - started < 5


def test_cancel_closes_a_generator(harness: Harness) -> None:
    _, link, _ = harness.start()
    link.send(call=W.Call(id=1, tool="count", args=b'{"n": 100000000}', stream=True, chunk_window=2))
    link.expect("chunk")
    link.send(cancel=W.Cancel(id=1))
    while True:
        frame = link.recv()
        if frame.WhichOneof("frame") == "error":
            assert frame.error.kind == W.ERROR_KIND_CANCELLED
            break
    link.call(2, "pid")
    assert isinstance(link.result(2), int)


@pytest.mark.parametrize("tool", ["sleep", "async_sleep"])
def test_deadline_reaches_python(harness: Harness, tool: str) -> None:
    _, link, _ = harness.start()
    started = time.monotonic()
    link.call(1, tool, {"seconds": 60}, timeout_ms=200)
    err = link.expect("error")
    assert (err.id, err.kind) == (1, W.ERROR_KIND_DEADLINE_EXCEEDED)
    assert time.monotonic() - started < 5


def test_callbacks_reach_the_server_and_session_state_stays_on_the_worker(harness: Harness) -> None:
    _, link, _ = harness.start()
    link.call(1, "getvar", {"name": "greeting"}, session_id="s1")
    cb = link.expect("callback")
    assert (cb.call_id, cb.get_variable.name) == (1, "greeting")
    variable = W.CallbackResult(id=cb.id)
    variable.variable.name = "greeting"
    variable.variable.value.string_value = "hi"
    link.send(callback_result=variable)
    assert link.result(1) == "hi"

    link.call(2, "getvar", {"name": "missing"}, session_id="s1")
    cb = link.expect("callback")
    link.send(callback_result=W.CallbackResult(id=cb.id, error=W.CallbackError(code=STATUS_CODES["not_found"], message="no variable")))
    err = link.expect("error")
    assert err.kind == W.ERROR_KIND_TOOL_RAISED and err.type == "pyfleet_bridge.context.VariableNotFound"

    for i in range(3):
        link.call(10 + i, "counter", session_id="s1")
        assert link.result(10 + i) == i + 1
    link.send(release_session=W.ReleaseSession(session_id="s1"))
    link.call(20, "counter", session_id="s1")
    assert link.result(20) == 1


def test_concurrency_runs_calls_in_parallel_and_pings_are_answered_while_busy(harness: Harness) -> None:
    _, link, _ = harness.start("pyfleet_bridge.samples:SampleAdapter", "--concurrency", "2")
    link.call(1, "sleep", {"seconds": 60})
    link.call(2, "add", {"a": 1, "b": 1})
    assert link.result(2) == 2.0
    link.send(ping=W.Ping(nonce=9))
    pong = link.expect("pong")
    assert pong.nonce == 9 and pong.rss_bytes > 0
    link.call(3, "sleep", {"seconds": 60})
    # Both slots busy: further calls wait in the worker's queue (prefetch), up to MAX_QUEUED; beyond that, OVERLOADED.
    for i in range(MAX_QUEUED):
        link.call(100 + i, "pid")
    link.call(99, "pid")
    err = link.expect("error")
    assert err.id == 99 and err.kind == W.ERROR_KIND_OVERLOADED
    # A queued call can be taken back before it starts.
    link.send(cancel=W.Cancel(id=100, only_if_queued=True))
    revoked = link.expect("error")
    assert revoked.id == 100 and revoked.kind == W.ERROR_KIND_NOT_STARTED
    # Freeing a slot runs the queue in order.
    link.send(cancel=W.Cancel(id=1))
    assert link.expect("error").id == 1
    pids = [link.result(100 + i) for i in range(1, MAX_QUEUED)]
    assert len(set(pids)) == 1 and pids[0] > 0
    link.send(cancel=W.Cancel(id=3))
    assert link.expect("error").id == 3


def test_prints_and_logs_become_log_frames_without_corrupting_the_link(harness: Harness) -> None:
    _, link, _ = harness.start("pyfleet_bridge.testing.chaos:ChaosAdapter")
    link.call(1, "flood", {"lines": 5000, "stream": "stdout"})
    assert link.result(1) == 5000
    link.call(2, "flood", {"lines": 100, "stream": "stderr"})
    assert link.result(2) == 100
    link.call(3, "echo", {"still": "framed"})
    assert link.result(3) == {"still": "framed"}
    text = "\n".join(log.message for log in link.logs if log.logger == "stdout")
    assert "flood line 0 " in text
    link.until_log(lambda log: log.logger == "stdout" and "flood line 4999 " in log.message)
    link.until_log(lambda log: log.logger == "stderr" and "flood line 99 " in log.message)


def test_stdin_eof_ends_the_worker_even_mid_call(harness: Harness) -> None:
    proc, link, _ = harness.start()
    link.call(1, "spin", {"ms": 60000})
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0


def test_shutdown_runs_teardown_and_exits_cleanly(harness: Harness) -> None:
    proc, link, _ = harness.start()
    link.call(1, "sleep", {"seconds": 0.2})
    link.send(shutdown=W.Shutdown(grace_ms=5000))
    assert link.result(1) == {"slept": 0.2}
    assert proc.wait(timeout=10) == 0


@pytest.mark.parametrize(("adapter", "phase", "type_"), [
    ("pyfleet_bridge.testing.broken_import:Adapter", "import", "RuntimeError"),
    ("pyfleet_bridge.testing.broken_setup:BrokenSetupAdapter", "setup", "ConnectionError"),
    ("pyfleet_bridge.samples:NoSuchAdapter", "import", "AttributeError"),
])
def test_startup_failures_are_reported_with_exit_code_3(harness: Harness, adapter: str, phase: str, type_: str) -> None:
    proc = harness.spawn(adapter)
    link, _ = harness.accept()
    failed = link.expect("startup_failed")
    assert (failed.phase, failed.type) == (phase, type_)
    assert "Traceback" in failed.traceback
    assert proc.wait(timeout=10) == 3


def test_fork_mode_forks_workers_that_serve_and_are_reaped(harness: Harness) -> None:
    template = harness.spawn("pyfleet_bridge.samples:SampleAdapter", "--template")
    tlink, hello = harness.accept()
    assert hello.template
    ready = tlink.expect("ready")
    assert "echo" in {t.name for t in ready.tools}
    assert ready.fork_unsafe == ""
    pids = []
    for i in (1, 2):
        tlink.send(fork=W.Fork(token=f"child-{i}", worker_id=f"w{i}"))
        child, child_hello = harness.accept(f"child-{i}")
        child.expect("ready")
        child.call(1, "pid")
        pid = child.result(1)
        assert pid == child_hello.pid and pid != template.pid
        pids.append((pid, child))
    assert pids[0][0] != pids[1][0]
    os.kill(pids[0][0], signal.SIGKILL)
    exited = tlink.expect("child_exited")
    assert (exited.pid, exited.signal) == (pids[0][0], signal.SIGKILL)
    # Killing the template takes its children with it (parent-death signal).
    os.killpg(template.pid, signal.SIGKILL)
    wait_gone(pids[1][0])


def test_a_template_whose_adapter_starts_a_thread_at_import_says_forking_is_unsafe(harness: Harness) -> None:
    _, _, ready = harness.start("pyfleet_bridge.testing.thread_import:ThreadImportAdapter", "--template")
    assert ready.fork_unsafe == "importing the adapter started 1 thread"


def test_dial_in_attaches_over_grpc_and_serves_a_call() -> None:
    import subprocess
    import sys
    from concurrent import futures
    from queue import Queue

    import grpc

    from pyfleet_bridge._proto.worker.v1 import worker_pb2_grpc

    results: Queue[object] = Queue()

    class Servicer(worker_pb2_grpc.WorkerLinkServiceServicer):
        def Attach(self, request_iterator, context):  # type: ignore[no-untyped-def]
            requests = iter(request_iterator)
            hello = next(requests).frame.hello
            results.put(("hello", hello.token, hello.pool, hello.pid))
            assert next(requests).frame.WhichOneof("frame") == "ready"
            yield W.AttachResponse(frame=W.ServerFrame(call=W.Call(id=1, tool="add", args=json.dumps({"a": 2, "b": 3}).encode())))
            for req in requests:
                if req.frame.WhichOneof("frame") == "result":
                    results.put(("result", decode(req.frame.result.value)))
                    yield W.AttachResponse(frame=W.ServerFrame(shutdown=W.Shutdown(grace_ms=100)))
                    return

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    worker_pb2_grpc.add_WorkerLinkServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    proc = subprocess.Popen([sys.executable, "-m", "pyfleet_bridge.worker", "--adapter", "pyfleet_bridge.samples:SampleAdapter",
                             "--connect", f"http://127.0.0.1:{port}", "--token", "t0k", "--pool", "gpu", "--no-reconnect"])
    try:
        assert results.get(timeout=15) == ("hello", "t0k", "gpu", proc.pid)
        assert results.get(timeout=15) == ("result", 5.0)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        server.stop(0)


def test_bad_command_line_exits_2() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "pyfleet_bridge.worker", "--adapter", "x:Y"], capture_output=True, timeout=30)
    assert done.returncode == 2
    assert b"--socket" in done.stderr
