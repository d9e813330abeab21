"""Runs calls: sync tools on threads, async tools on one event loop, streams with credit-based flow control.

Over 400 lines on purpose: one call state machine (start, gather into a batch,
run, finish, fail, cancel, credit) whose transitions share the runtime's slot
count and send path; the pieces that need none of that already live beside it
(_calls, _batches, _payload, _tracing, capture)."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from pyfleet_bridge._batches import Batcher
from pyfleet_bridge._callbacks import Callbacks
from pyfleet_bridge import _batches, _calls, _tracing
from pyfleet_bridge._calls import CallState, Cancelled, Refused, admit
from pyfleet_bridge._payload import NotSerializable, exception_type, format_traceback, rss_bytes, serialize
from pyfleet_bridge._proto.worker.v1 import worker_pb2
from pyfleet_bridge.adapter import Adapter, ToolInfo
from pyfleet_bridge.capture import enter_call, leave_call
from pyfleet_bridge.link import Link, LinkClosed
from pyfleet_bridge.wire import result_frame

K = worker_pb2

#: How often an idle thread checks whether a long call left the link unread.
WATCH_S = 0.05
#: Prefetched calls a worker holds before it refuses more (the server sends far fewer).
MAX_QUEUED = 64
#: A result is held back to share one write with the next ones only while
#: the calls that run first take less than this on average, so it is late
#: by about that much at most, and the server reads several results per
#: wake-up instead of one.
HOLD_BEHIND_S = 0.0002
#: The runtime's own files: a tool's traceback starts below their frames.
_OWN_FILES = (__file__, _calls.__file__, _batches.__file__)


class Runtime:
    """One worker's calls.

    Threads take turns (leader/follower): the one holding the read lock reads
    frames; when it reads a sync call it lets go of the lock and runs the call
    itself, so a call costs no hand-off between threads. Another thread takes
    over reading at once when more calls (or stream credit) can arrive, and
    otherwise within WATCH_S while a call runs long, so Cancel and Ping frames
    are still read."""

    def __init__(self, adapter: Adapter, tools: dict[str, ToolInfo], link: Link, concurrency: int,
                 on_shutdown: Callable[[], None]) -> None:
        self.adapter = adapter
        self.tools = tools
        self.link = link
        self.concurrency = max(1, concurrency)
        self._on_shutdown = on_shutdown
        self._calls: dict[int, CallState] = {}
        self._lock = threading.Lock()
        self._sessions: dict[str, dict[str, Any]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._read_lock = threading.Lock()
        self._reader_wanted = threading.Condition()
        self._pending: deque[worker_pb2.ServerFrame] = deque()
        #: Prefetched calls waiting for a free slot, in arrival order.
        self._queued: deque[CallState] = deque()
        self._eof = threading.Event()
        self._read_batch: Callable[[], list[worker_pb2.ServerFrame]] = lambda: []
        #: Requests from tools to the server; Context sends them through it.
        self.callbacks = Callbacks(link)
        self._accepting = True
        self._idle = threading.Condition(self._lock)
        #: Length-prefixed result frames waiting to leave together (see HOLD_BEHIND_S).
        self._held: list[bytes] = []
        self._held_lock = threading.Lock()
        #: Average run time of each sync tool, in seconds.
        self._run_avg: dict[str, float] = {}
        #: Gathers batch tools' calls into batches; made at the first such call.
        self._batcher: Batcher | None = None
        self.max_queued = MAX_QUEUED

    # ---- serving the link ----

    def run(self, read_batch: Callable[[], list[worker_pb2.ServerFrame]]) -> None:
        """Serves the link's frames until it closes; the calling thread joins the turn-taking."""
        self._read_batch = read_batch
        for i in range(self.concurrency):
            threading.Thread(target=self._serve, name=f"pyfleet-serve-{i}", daemon=True).start()
        self._serve()

    def _serve(self) -> None:
        while not self._eof.is_set():
            queued = self._next_queued()
            if queued is not None:
                self._run_sync(queued)
                continue
            if not self._read_lock.acquire(blocking=False):
                # Follower: wait until wanted, or look again in a moment.
                self._flush()
                with self._reader_wanted:
                    self._reader_wanted.wait(WATCH_S)
                continue
            try:
                job = self._lead()
            finally:
                self._read_lock.release()
            if job is None:
                continue
            if job.info.is_generator or self._used() < self.concurrency:
                # More frames are coming for sure (credit, or calls for free slots): hand over reading now.
                with self._reader_wanted:
                    self._reader_wanted.notify()
            self._run_sync(job)

    def _next_queued(self) -> CallState | None:
        """Moves the next prefetched call into a free slot; returns it if it is sync (this thread runs it)."""
        while True:
            with self._lock:
                if not self._queued or self._used() >= self.concurrency:
                    return None
                st = self._queued.popleft()
                self._calls[st.id] = st
            st.started = time.monotonic()
            if not st.info.is_async:
                return st
            asyncio.run_coroutine_threadsafe(self._run_async(st), self._ensure_loop())

    def _lead(self) -> CallState | None:
        """Reads and handles frames until one is a sync call for this thread to run (or the link closes)."""
        while True:
            if self._pending:
                frame = self._pending.popleft()
            else:
                self._flush()
                batch = self._read_batch()
                if not batch:
                    self._eof.set()
                    if self._batcher is not None:
                        with self._lock:
                            self._batcher.cond.notify()
                    with self._reader_wanted:
                        self._reader_wanted.notify_all()
                    return None
                frame = batch[0]
                self._pending.extend(batch[1:])
            job = self.handle(frame)
            if job is not None:
                return job

    def handle(self, frame: worker_pb2.ServerFrame) -> CallState | None:
        """Handles one frame; returns a sync call for the caller to run."""
        kind = frame.WhichOneof("frame")
        if kind == "call":
            return self._start(frame.call)
        if kind == "cancel":
            self._cancel(frame.cancel.id, "cancel", frame.cancel.only_if_queued)
        elif kind == "credit":
            self._credit(frame.credit.id, frame.credit.chunks)
        elif kind == "callback_result":
            self.callbacks.deliver(frame.callback_result)
        elif kind == "ping":
            self._send(K.WorkerFrame(pong=K.Pong(nonce=frame.ping.nonce, rss_bytes=rss_bytes())))
        elif kind == "release_session":
            self._sessions.pop(frame.release_session.session_id, None)
        elif kind == "shutdown":
            threading.Thread(target=self.shutdown, args=(frame.shutdown.grace_ms / 1000,), daemon=True).start()
        return None

    def _send(self, frame: worker_pb2.WorkerFrame) -> None:
        try:
            self.link.send(frame)
        except LinkClosed:
            pass

    def _error(self, call_id: int, kind: int, message: str, type_: str = "", tb: str = "", after_chunks: bool = False) -> None:
        frame = K.WorkerFrame(error=K.Error(id=call_id, kind=kind, type=type_, message=message, traceback=tb))
        if after_chunks:
            try:
                self.link.send_after_chunks(frame)
            except LinkClosed:
                pass
        else:
            self._send(frame)

    # ---- starting calls ----

    def _start(self, call: worker_pb2.Call) -> CallState | None:
        if not self._accepting:
            self._error(call.id, K.ERROR_KIND_INTERNAL, "the worker is shutting down")
            return None
        try:
            st = admit(self, call, self.tools, self._sessions)
        except Refused as refused:
            self._error(call.id, refused.kind, str(refused))
            return None
        except Exception as e:  # noqa: BLE001 - a call the runtime cannot take must not end the thread that reads the link
            self._error(call.id, K.ERROR_KIND_INTERNAL, f"the worker could not take the call: {type(e).__name__}: {e}")
            return None
        info = st.info
        if info.batch_size:
            return self._gather(st)
        with self._lock:
            if self._used() < self.concurrency:
                self._calls[call.id] = st
                queued = False
            elif len(self._queued) < MAX_QUEUED:
                # Prefetched: starts the moment a slot frees.
                self._queued.append(st)
                queued = True
            else:
                self._error(call.id, K.ERROR_KIND_OVERLOADED, f"the worker runs at most {self.concurrency} calls at once and has {MAX_QUEUED} waiting")
                return None
        if queued:
            return None
        if info.is_async:
            asyncio.run_coroutine_threadsafe(self._run_async(st), self._ensure_loop())
            return None
        return st

    def _gather(self, st: CallState) -> None:
        """A batch tool's call waits for its batch (see _batches.py)."""
        with self._lock:
            if self._batcher is None:
                self._batcher = Batcher(self)
            if self._batcher.add(st):
                return None
        self._error(st.id, K.ERROR_KIND_OVERLOADED, f'the worker holds too many calls of batch tool "{st.info.name}" already')
        return None

    def _used(self) -> int:
        """Slots taken (the lock held): a plain call or a running batch takes one."""
        return len(self._calls) + (self._batcher.batches if self._batcher else 0)

    def _busy(self) -> bool:
        """Whether any call is running or waiting (the lock held)."""
        return bool(self._calls or self._queued or (self._batcher and self._batcher.busy()))

    # ---- running ----

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is not None:
            return self._loop
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="pyfleet-asyncio", daemon=True).start()
                self._loop = loop
        return self._loop

    def _fn(self, st: CallState) -> Callable[..., Any]:
        return getattr(self.adapter, st.info.attr)

    def _flush(self, frame: bytes = b"") -> None:
        """Sends the held results (and `frame`) in one write."""
        if self._held:
            with self._held_lock:
                frame = b"".join(self._held) + frame
                self._held.clear()
        if frame:
            try:
                self.link.send_raw(frame)
            except LinkClosed:
                pass

    def _run_sync(self, st: CallState) -> None:
        name = st.info.name
        avg = self._run_avg.get(name)
        if avg is None or avg >= HOLD_BEHIND_S:
            # Slow, or not known yet: what is held leaves before it runs.
            self._flush()
        started = time.monotonic()
        self._run_sync_call(st)
        took = time.monotonic() - started
        self._run_avg[name] = took if avg is None else 0.8 * avg + 0.2 * took

    def _run_sync_call(self, st: CallState) -> None:
        # What the tool prints or logs is tagged with the call until it returns (before its result leaves).
        enter_call(st.id)
        # A traced call runs inside its caller's OpenTelemetry context (a generator's items too: this thread drains it).
        token = _tracing.enter(st.ctx.traceparent, st.ctx.tracestate) if st.ctx.traceparent else None
        try:
            if st.info.is_generator:
                gen = self._fn(st)(**st.kwargs)
                try:
                    result = st.drain_sync(gen, self.link.send_chunk)
                finally:
                    gen.close()
                leave_call(st.id)
                self._finish(st, result)
            else:
                value = self._fn(st)(**st.kwargs)
                leave_call(st.id)
                self._finish(st, value, hold=True)
        except BaseException as e:  # noqa: BLE001 - everything a tool raises goes back to the caller
            leave_call(st.id)
            self._fail(st, e)
        finally:
            if token is not None:
                _tracing.leave(token)

    async def _run_async(self, st: CallState) -> None:
        st.task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        timer = None
        remaining = st.ctx.time_remaining()
        if remaining is not None:
            timer = loop.call_later(remaining, st.cancel_on_loop, "deadline")
        if st.ctx.cancelled and st.task:  # cancelled before it started
            st.task.cancel()
        enter_call(st.id)
        # Each call is its own task, so the context attached here is this call's alone.
        token = _tracing.enter(st.ctx.traceparent, st.ctx.tracestate) if st.ctx.traceparent else None
        try:
            if st.info.is_generator:
                agen = self._fn(st)(**st.kwargs)
                try:
                    await st.drain_async(agen, self.link.send_chunk)
                finally:
                    await agen.aclose()
                leave_call(st.id)
                self._finish(st, None)
            else:
                value = await self._fn(st)(**st.kwargs)
                leave_call(st.id)
                self._finish(st, value)
        except BaseException as e:  # noqa: BLE001
            leave_call(st.id)
            self._fail(st, e)
        finally:
            if timer:
                timer.cancel()
            if token is not None:
                _tracing.leave(token)

    # ---- finishing ----

    def _take(self, st: CallState) -> bool:
        with self._lock:
            batcher = self._batcher
            if self._calls.pop(st.id, None) is None and (batcher is None or batcher.running.pop(st.id, None) is None):
                return False
            if not self._busy():
                self._idle.notify_all()
            if batcher is not None and not st.info.batch_size:
                batcher.cond.notify()  # a slot freed: a due batch may start
            start_queued = bool(self._queued) and st.info.is_async
        if start_queued:
            # An async call ended on the loop thread: a serving thread starts the next one.
            with self._reader_wanted:
                self._reader_wanted.notify()
        return True

    def _finish(self, st: CallState, value: Any, hold: bool = False, batched: bool = False) -> None:
        """Sends a call's value. `hold`: a serving thread finished it, and may
        hold the result to share a write while more calls are in hand;
        `batched`: always hold it (a batch's results leave in one write)."""
        if st.ctx.cancelled:
            self._cancelled(st)
            return
        try:
            data, raw = serialize(value)
        except NotSerializable as e:
            if self._take(st):
                self._error(st.id, K.ERROR_KIND_NOT_SERIALIZABLE, str(e), "TypeError", after_chunks=st.stream)
            return
        if not self._take(st):
            return
        if not st.stream:
            frame = result_frame(st.id, data, raw)
            if batched or (hold and (self._pending or self._queued)):
                with self._held_lock:
                    self._held.append(frame)
            else:
                self._flush(frame)
            return
        try:
            if st.info.is_generator:
                payload = worker_pb2.Payload(raw=data) if raw else worker_pb2.Payload(json=data)
                self.link.send_after_chunks(K.WorkerFrame(result=K.Result(id=st.id, value=payload)))
            else:
                # A plain tool called as a stream: its value is the single chunk.
                self.link.send_chunk(st.id, data, raw)
                self.link.send_after_chunks(K.WorkerFrame(result=K.Result(id=st.id, value=worker_pb2.Payload(json=b"null"))))
        except LinkClosed:
            pass

    def _cancelled(self, st: CallState) -> None:
        if self._take(st):
            deadline = st.ctx.cancel_reason == "deadline"
            kind = K.ERROR_KIND_DEADLINE_EXCEEDED if deadline else K.ERROR_KIND_CANCELLED
            message = f'tool "{st.info.name}" passed its deadline' if deadline else f'tool "{st.info.name}" was cancelled'
            self._error(st.id, kind, message, after_chunks=st.stream)

    def _fail(self, st: CallState, e: BaseException) -> None:
        if isinstance(e, (Cancelled, asyncio.CancelledError)) or st.ctx.cancelled:
            self._cancelled(st)
            return
        if isinstance(e, NotSerializable):
            if self._take(st):
                self._error(st.id, K.ERROR_KIND_NOT_SERIALIZABLE, str(e), "TypeError", after_chunks=st.stream)
            return
        if self._take(st):
            self._error(st.id, K.ERROR_KIND_TOOL_RAISED, str(e), exception_type(e), format_traceback(e, _OWN_FILES), after_chunks=st.stream)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise e

    # ---- cancellation and credit ----

    def _cancel(self, call_id: int, reason: str, only_if_queued: bool = False) -> None:
        with self._lock:
            queued = next((q for q in self._queued if q.id == call_id), None)
            if queued is not None:
                self._queued.remove(queued)
            st = self._calls.get(call_id)
            batcher = self._batcher
        if st is None and queued is None and batcher is not None and batcher.cancel(call_id, reason, only_if_queued):
            return
        if queued is not None:
            if only_if_queued:
                self._error(call_id, K.ERROR_KIND_NOT_STARTED, "revoked before it started")
            else:
                self._error(call_id, K.ERROR_KIND_CANCELLED, f'tool "{queued.info.name}" was cancelled before it started')
            return
        if st is not None and not only_if_queued:
            st.cancel(reason, self._loop)

    def _credit(self, call_id: int, chunks: int) -> None:
        with self._lock:
            st = self._calls.get(call_id)
        if st is not None:
            st.grant(chunks, self._loop)

    # ---- shutdown ----

    def abandon_all(self) -> None:
        """The link dropped: the server has failed these calls over; stop them quietly."""
        with self._lock:
            calls = list(self._calls.values()) + list(self._queued) + (self._batcher.drop_all() if self._batcher else [])
            self._calls.clear()
            self._queued.clear()
        for st in calls:
            st.cancel("link lost", self._loop)
        self.callbacks.abandon()

    def shutdown(self, grace: float) -> None:
        """No new calls; running ones get `grace` seconds, then are cancelled; then teardown() and exit 0."""
        self._accepting = False
        deadline = time.monotonic() + grace
        with self._lock:
            if self._batcher is not None:
                self._batcher.cond.notify()  # waiting batches go now, without waiting to fill
            while self._busy() and time.monotonic() < deadline:
                self._idle.wait(max(0.0, deadline - time.monotonic()))
            pending = list(self._calls) + [q.id for q in self._queued] + ([st.id for st in self._batcher.held()] if self._batcher else [])
        for call_id in pending:
            self._cancel(call_id, "shutdown")
        with self._lock:
            end = time.monotonic() + 1.0
            while (self._calls or (self._batcher and self._batcher.running)) and time.monotonic() < end:
                self._idle.wait(max(0.0, end - time.monotonic()))
        self._flush()
        try:
            self.adapter.teardown()
        except Exception:  # noqa: BLE001
            traceback.print_exc(file=sys.__stderr__)
        self._on_shutdown()
