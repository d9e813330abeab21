"""Batch tools: concurrent calls gathered into one invocation, each call answered from its own element.

A worker gathers the calls it holds, not the server: the pool already sends a
worker calls ahead of its free slots (prefetch), the worker alone knows when a
slot frees and which of its calls were cancelled, and every call keeps its own
id on the link, so results, errors, deadlines, cancellation and retries stay
per call with no new frames.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pyfleet_bridge._calls import CallState
from pyfleet_bridge._proto.worker.v1 import worker_pb2
from pyfleet_bridge.adapter import ToolInfo

if TYPE_CHECKING:
    from pyfleet_bridge.runtime import Runtime

K = worker_pb2


class Batch:
    """One invocation of a batch tool: the calls it answers, in order."""

    __slots__ = ("info", "items", "task")

    def __init__(self, info: ToolInfo, items: list[CallState]) -> None:
        self.info = info
        self.items = items
        self.task: asyncio.Task[Any] | None = None


class Batcher:
    """The calls of a worker's batch tools that wait to run together, and the thread that starts their batches.

    It shares the runtime's lock and slots: a running batch holds one of the
    worker's `concurrency` slots, like a plain call. A tool's open batch goes
    when it holds `batch_size` calls, or `batch_wait_ms` after it opened, as
    soon as a slot is free; until then it keeps filling.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.cond = threading.Condition(runtime._lock)
        #: Tool name -> calls waiting for its next batch, in arrival order.
        self.open: dict[str, list[CallState]] = {}
        #: Tool name -> when its open batch began to wait (time.monotonic()).
        self.since: dict[str, float] = {}
        #: Call id -> the running batch that holds it (until the call is answered).
        self.running: dict[int, Batch] = {}
        #: Batches running now; each holds a slot.
        self.batches = 0
        self._executor: ThreadPoolExecutor | None = None
        self._thread = threading.Thread(target=self._dispatch, name="pyfleet-batch", daemon=True)
        self._thread.start()

    # ---- called with the runtime's lock held ----

    def busy(self) -> bool:
        return bool(self.batches or self.running or any(self.open.values()))

    def add(self, st: CallState) -> bool:
        """Adds a call to its tool's open batch; False when the worker holds too many already."""
        info = st.info
        items = self.open.setdefault(info.name, [])
        if len(items) >= info.batch_size * (self.rt.concurrency + 1) + self.rt.max_queued:
            return False
        if not items:
            self.since[info.name] = time.monotonic()
        items.append(st)
        if len(items) == 1 or len(items) == info.batch_size:
            self.cond.notify()
        return True

    def held(self) -> list[CallState]:
        """Every call the batcher holds, waiting or running (for shutdown)."""
        running = [st for batch in {id(b): b for b in self.running.values()}.values() for st in batch.items if st.id in self.running]
        return [st for items in self.open.values() for st in items] + running

    def drop_all(self) -> list[CallState]:
        """Forgets every call (the link dropped); returns them."""
        calls = self.held()
        self.open.clear()
        self.running.clear()
        return calls

    # ---- cancellation (any thread) ----

    def cancel(self, call_id: int, reason: str, only_if_queued: bool) -> bool:
        """Cancels a call the batcher holds; False if it holds none by that id."""
        rt = self.rt
        with self.cond:
            waiting = None
            for items in self.open.values():
                for i, st in enumerate(items):
                    if st.id == call_id:
                        waiting = items.pop(i)
                        break
                if waiting is not None:
                    break
            batch = self.running.get(call_id) if waiting is None else None
        if waiting is not None:
            if only_if_queued:
                rt._error(call_id, K.ERROR_KIND_NOT_STARTED, "revoked before it started")
            else:
                waiting.ctx.cancel(reason)
                rt._error(call_id, K.ERROR_KIND_CANCELLED, f'tool "{waiting.info.name}" was cancelled before it started')
            return True
        if batch is None:
            return False
        if only_if_queued:
            return True  # it runs already: left alone
        st = next(s for s in batch.items if s.id == call_id)
        st.ctx.cancel(reason)
        # Answered now, its element of the result dropped later: the other calls still want theirs.
        rt._cancelled(st)
        if batch.task is not None and rt._loop is not None and all(s.ctx.cancelled for s in batch.items):
            rt._loop.call_soon_threadsafe(batch.task.cancel)
        return True

    # ---- starting batches ----

    def _dispatch(self) -> None:
        rt = self.rt
        with self.cond:
            while not rt._eof.is_set():
                batch = self._next()
                if batch is None:
                    self.cond.wait(self._timeout())
                    continue
                self.cond.release()
                try:
                    self._launch(batch)
                finally:
                    self.cond.acquire()

    def _next(self) -> Batch | None:
        """The batch to start now, its slot taken; None if none is due or no slot is free."""
        rt = self.rt
        if rt._used() >= rt.concurrency:
            return None
        now = time.monotonic()
        due: str | None = None
        for name, items in self.open.items():
            if not items:
                continue
            info = items[0].info
            ready = len(items) >= info.batch_size or now >= self.since[name] + info.batch_wait_ms / 1000 or not rt._accepting
            if ready and (due is None or self.since[name] < self.since[due]):
                due = name
        if due is None:
            return None
        items = self.open[due]
        info = items[0].info
        batch = Batch(info, items[:info.batch_size])
        del items[:info.batch_size]
        self.since[due] = now
        for st in batch.items:
            self.running[st.id] = batch
        self.batches += 1
        return batch

    def _timeout(self) -> float | None:
        """How long the dispatcher may sleep: until the first open batch's wait ends (None: until notified)."""
        if self.rt._used() >= self.rt.concurrency:
            return None
        ends = [self.since[name] + items[0].info.batch_wait_ms / 1000 for name, items in self.open.items() if items]
        return max(0.0, min(ends) - time.monotonic()) if ends else None

    def _launch(self, batch: Batch) -> None:
        rt = self.rt
        live: list[CallState] = []
        for st in batch.items:
            if st.ctx.cancelled:  # its deadline passed while it waited
                rt._cancelled(st)
            else:
                live.append(st)
        batch.items = live
        if not live:
            self._end(batch)
            return
        if batch.info.is_async:
            asyncio.run_coroutine_threadsafe(self._run_async(batch), rt._ensure_loop())
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=rt.concurrency, thread_name_prefix="pyfleet-batch-run")
        self._executor.submit(self._run_sync, batch)

    # ---- running ----

    def _arguments(self, batch: Batch) -> dict[str, list[Any]]:
        """One list per parameter, an element per call (a call that left out an optional argument gets its default)."""
        info = batch.info
        columns: dict[str, list[Any]] = {}
        for p in info.params:
            columns[p.name] = [st.kwargs.get(p.name, p.default) for st in batch.items]
        if info.ctx_param:
            columns[info.ctx_param] = [st.ctx for st in batch.items]
        return columns

    def _run_sync(self, batch: Batch) -> None:
        try:
            results = getattr(self.rt.adapter, batch.info.attr)(**self._arguments(batch))
        except BaseException as e:  # noqa: BLE001 - the whole batch failed: every call gets the error
            self._fail_all(batch, e)
        else:
            self._deliver(batch, results)
        finally:
            self._end(batch)

    async def _run_async(self, batch: Batch) -> None:
        batch.task = asyncio.current_task()
        try:
            results = await getattr(self.rt.adapter, batch.info.attr)(**self._arguments(batch))
        except BaseException as e:  # noqa: BLE001
            self._fail_all(batch, e)
        else:
            self._deliver(batch, results)
        finally:
            self._end(batch)

    def _deliver(self, batch: Batch, results: Any) -> None:
        rt = self.rt
        n = len(batch.items)
        if not isinstance(results, (list, tuple)) or len(results) != n:
            got = f"{len(results)} results" if isinstance(results, (list, tuple)) else f"a {type(results).__qualname__}"
            self._fail_all(batch, TypeError(
                f'batch tool "{batch.info.name}" returned {got} for a batch of {n} calls; '
                "it must return a list with one result per call, in the order of its arguments"))
            return
        for st, value in zip(batch.items, results):
            if isinstance(value, Exception):
                rt._fail(st, value)
            else:
                rt._finish(st, value, hold=True, batched=True)
        rt._flush()

    def _fail_all(self, batch: Batch, e: BaseException) -> None:
        for st in batch.items:
            try:
                self.rt._fail(st, e)
            except BaseException:  # noqa: BLE001 - _fail re-raises KeyboardInterrupt/SystemExit; answer every call first
                pass

    def _end(self, batch: Batch) -> None:
        rt = self.rt
        with self.cond:
            for st in batch.items:
                self.running.pop(st.id, None)
            self.batches -= 1
            self.cond.notify()
            if not rt._busy():
                rt._idle.notify_all()
            start_queued = bool(rt._queued)
        if start_queued:
            # The slot it held may start a prefetched plain call.
            with rt._reader_wanted:
                rt._reader_wanted.notify()
