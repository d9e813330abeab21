"""What a tool prints is tagged with its call; what is printed outside calls is not (capture.py)."""

from __future__ import annotations

import asyncio
import io
import logging
import threading

from pyfleet_bridge import capture
from pyfleet_bridge._proto.worker.v1 import worker_pb2


class RecordingLink:
    def __init__(self) -> None:
        self.logs: list[tuple[int, str, str, int]] = []

    def send(self, frame: worker_pb2.WorkerFrame) -> None:
        log = frame.log
        self.logs.append((log.call_id, log.logger, log.message, log.source))


def test_lines_written_during_a_call_carry_its_id_and_partial_lines_end_with_the_call() -> None:
    link = RecordingLink()
    inner = io.StringIO()
    out = capture._CallStream(inner, "stdout", worker_pb2.LOG_LEVEL_INFO, worker_pb2.LOG_SOURCE_STDOUT)
    capture._streams.append(out)
    out.link = link  # type: ignore[assignment]
    try:
        print("before any call", file=out)
        capture.enter_call(7)
        print("a", "b", file=out)
        out.write("two\nlines\nand half")
        capture.leave_call(7)
        print("after", file=out)

        def other_thread() -> None:
            capture.enter_call(9)
            print("from 9", file=out)
            capture.leave_call(9)

        t = threading.Thread(target=other_thread)
        t.start()
        t.join()

        async def task(call_id: int) -> None:
            capture.enter_call(call_id)
            await asyncio.sleep(0)
            print(f"task {call_id}", end="", file=out)
            await asyncio.sleep(0)
            capture.leave_call(call_id)

        async def both() -> None:
            await asyncio.gather(task(11), task(12))

        asyncio.run(both())
    finally:
        capture._streams.remove(out)
    stdout = worker_pb2.LOG_SOURCE_STDOUT
    assert link.logs == [
        (7, "stdout", "a b", stdout), (7, "stdout", "two", stdout), (7, "stdout", "lines", stdout), (7, "stdout", "and half", stdout),
        (9, "stdout", "from 9", stdout), (11, "stdout", "task 11", stdout), (12, "stdout", "task 12", stdout),
    ]
    assert inner.getvalue() == "before any call\nafter\n"


def test_logging_records_are_tagged_with_the_running_call() -> None:
    link = RecordingLink()
    handler = capture.LinkLogHandler(link)  # type: ignore[arg-type]
    logger = logging.getLogger("capture-test")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("outside")
        capture.enter_call(3)
        logger.warning("inside %s", "call 3")
        capture.leave_call(3)
    finally:
        logger.removeHandler(handler)
    logging_source = worker_pb2.LOG_SOURCE_LOGGING
    assert link.logs == [(0, "capture-test", "outside", logging_source), (3, "capture-test", "inside call 3", logging_source)]
