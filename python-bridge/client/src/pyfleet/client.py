"""The synchronous pyfleet client over the generated grpcio stubs (`pyfleet.aio` is its async twin)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

import grpc

from pyfleet import _models as m
from pyfleet import _values as values
from pyfleet._base import VERSION_HEADER, BaseClient, duration, header, supports_batch_form
from pyfleet._models import (CallResult, Compute, ComputeLogLine, Job, LogRecord, ManyResult, PoolInfo, PoolStats, SessionInfo,
                             Tool, Variable, VariableEvent)
from pyfleet.compute.v1 import compute_pb2, compute_pb2_grpc
from pyfleet.errors import FailedPrecondition, from_rpc_error
from pyfleet.pool.v1 import pool_pb2, pool_pb2_grpc

__all__ = ["CallResult", "Client", "Compute", "ComputeHandle", "ComputeLogLine", "Job", "LogRecord", "ManyResult", "PoolInfo",
           "PoolStats", "Session", "SessionInfo", "Tool", "Variable", "VariableEvent"]


class Session:
    """A session pinned to one worker, with server-side variables. Use it as a context manager:
    the session is deleted when the block ends."""

    def __init__(self, client: Client, proto: pool_pb2.Session) -> None:
        self._client = client
        self.id = proto.id
        self.pool = proto.pool
        self.info: SessionInfo = m.session_info(proto)
        self._closed = False

    def execute(self, tool: str, args: dict[str, Any] | None = None, *, timeout: float | None = None,
                idempotent: bool = False, binary_args: dict[str, bytes] | None = None) -> Any:
        return self._client.execute(tool, args, pool=self.pool, session=self.id, timeout=timeout, idempotent=idempotent,
                                    binary_args=binary_args)

    def call(self, tool: str, args: dict[str, Any] | None = None, *, timeout: float | None = None,
             idempotent: bool = False, binary_args: dict[str, bytes] | None = None) -> CallResult:
        return self._client.call(tool, args, pool=self.pool, session=self.id, timeout=timeout, idempotent=idempotent,
                                 binary_args=binary_args)

    def stream(self, tool: str, args: dict[str, Any] | None = None, *, timeout: float | None = None,
               binary_args: dict[str, bytes] | None = None) -> Iterator[Any]:
        return self._client.stream(tool, args, pool=self.pool, session=self.id, timeout=timeout, binary_args=binary_args)

    def refresh(self) -> SessionInfo:
        """The session as the server sees it now (also kept in `info`)."""
        self.info = m.session_info(self._client._rpc(self._client.pools.GetSession, pool_pb2.GetSessionRequest(session_id=self.id)).session)
        return self.info

    def get(self, name: str) -> Any:
        return self.variable(name).value

    def variable(self, name: str) -> Variable:
        return m.variable(self._client._rpc(self._client.pools.GetVariable, pool_pb2.GetVariableRequest(session_id=self.id, name=name)).variable)

    def set(self, name: str, value: Any, *, type: str | None = None, expected_version: int | None = None,
            description: str = "") -> Variable:
        """Creates or updates a variable. expected_version=0: only if absent; n: only if at version n."""
        req = self._client._set_request(self.id, name, value, type, expected_version, description)
        return m.variable(self._client._rpc(self._client.pools.SetVariable, req).variable)

    def delete(self, name: str, *, expected_version: int | None = None) -> None:
        self._client._rpc(self._client.pools.DeleteVariable, self._client._delete_request(self.id, name, expected_version))

    def variables(self) -> list[Variable]:
        res = self._client._rpc(self._client.pools.ListVariables, pool_pb2.ListVariablesRequest(session_id=self.id))
        return [m.variable(v) for v in res.variables]

    def watch(self, names: Iterable[str] = (), *, include_initial: bool = False, timeout: float | None = None) -> Iterator[VariableEvent]:
        """Every change to the session's variables until you stop iterating (which cancels the watch)."""
        req = pool_pb2.WatchVariablesRequest(session_id=self.id, names=list(names), include_initial=include_initial)
        yield from self._client._stream(self._client.pools.WatchVariables, req, timeout, m.variable_event, quiet_cancel=True)

    def close(self) -> None:
        """Deletes the session; closing twice is fine."""
        if self._closed:
            return
        self._closed = True
        try:
            self._client.pools.DeleteSession(pool_pb2.DeleteSessionRequest(session_id=self.id), **self._client._call_options(None))
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                raise from_rpc_error(error) from None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ComputeHandle:
    """One compute: wait for it, touch, stop, start or terminate it."""

    def __init__(self, client: Client, compute: Compute) -> None:
        self._client = client
        self.compute = compute

    @property
    def id(self) -> str:
        return self.compute.id

    def refresh(self) -> Compute:
        self.compute = self._client.get_compute(self.id)
        return self.compute

    def wait_until_ready(self, *, on_status: Callable[[Compute], None] | None = None, timeout: float | None = None) -> Compute:
        """Returns once the compute is READY; raises FailedPrecondition if it fails, stops or ends first."""
        req = compute_pb2.WaitComputeRequest(id=self.id, timeout=duration(timeout))
        # The server ends the wait at `timeout`; the RPC's own deadline is a little later.
        for compute in self._client._stream(self._client.computes.WaitCompute, req, timeout + 1 if timeout else None,
                                                  lambda res: m.compute_from_proto(res.compute)):
            self.compute = compute
            if on_status:
                on_status(compute)
            if compute.status == "ready":
                return compute
        raise FailedPrecondition(f"compute {self.id} is {self.compute.status} and will not become ready")

    def touch(self) -> Compute:
        return self._op(self._client.computes.TouchCompute, compute_pb2.TouchComputeRequest(id=self.id))

    def stop(self) -> Compute:
        return self._op(self._client.computes.StopCompute, compute_pb2.StopComputeRequest(id=self.id))

    def start(self) -> Compute:
        return self._op(self._client.computes.StartCompute, compute_pb2.StartComputeRequest(id=self.id))

    def terminate(self) -> Compute:
        return self._op(self._client.computes.TerminateCompute, compute_pb2.TerminateComputeRequest(id=self.id))

    def _op(self, method: Any, req: Any) -> Compute:
        self.compute = m.compute_from_proto(self._client._rpc(method, req).compute)
        return self.compute

    def __enter__(self) -> ComputeHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.terminate()


class Client(BaseClient):
    """A pyfleet client.

    >>> with Client("http://127.0.0.1:8080") as client:
    ...     client.execute("add", {"a": 1, "b": 2})
    3.0
    """

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float | None = None,
                 options: list[tuple[str, Any]] | None = None) -> None:
        super().__init__(url, api_key, timeout=timeout, options=options)
        self._channel = (grpc.secure_channel(self._target, grpc.ssl_channel_credentials(), options=options)
                         if self._tls else grpc.insecure_channel(self._target, options=options))
        self.pools = pool_pb2_grpc.PoolServiceStub(self._channel)
        self.computes = compute_pb2_grpc.ComputeServiceStub(self._channel)

    def _rpc(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        try:
            return method(request, **self._call_options(timeout))
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def _stream(self, method: Any, request: Any, timeout: float | None, convert: Callable[[Any], Any],
                quiet_cancel: bool = False) -> Iterator[Any]:
        """A server stream's messages, converted; leaving the loop cancels the RPC."""
        call = method(request, **self._call_options(timeout))
        try:
            for message in call:
                yield convert(message)
        except grpc.RpcError as error:
            if not (quiet_cancel and error.code() == grpc.StatusCode.CANCELLED):  # type: ignore[attr-defined]
                raise from_rpc_error(error) from None
        finally:
            call.cancel()

    # ---- pools ----

    def execute(self, tool: str, args: dict[str, Any] | None = None, *, pool: str = "", session: str | Session | None = None,
                timeout: float | None = None, idempotent: bool = False, binary_args: dict[str, bytes] | None = None) -> Any:
        """Runs a tool and returns its value (bytes when the tool returned bytes)."""
        return self.call(tool, args, pool=pool, session=session, timeout=timeout, idempotent=idempotent,
                         binary_args=binary_args).value

    def call(self, tool: str, args: dict[str, Any] | None = None, *, pool: str = "", session: str | Session | None = None,
             timeout: float | None = None, idempotent: bool = False, binary_args: dict[str, bytes] | None = None) -> CallResult:
        """Runs a tool; returns its value and where it ran."""
        res = self._rpc(self.pools.Execute, self._execute_request(tool, args, pool, session, idempotent, binary_args), timeout)
        return CallResult(m.result_value(res), m.call_info(res.info))

    def stream(self, tool: str, args: dict[str, Any] | None = None, *, pool: str = "", session: str | Session | None = None,
               timeout: float | None = None, binary_args: dict[str, bytes] | None = None) -> Iterator[Any]:
        """Yields a generator tool's chunks. Breaking out of the loop cancels the call and stops the Python generator."""
        req = self._stream_request(tool, args, pool, session, binary_args)
        for chunks in self._stream(self.pools.ExecuteStream, req, timeout, m.stream_chunks):
            yield from chunks

    def execute_many(self, requests: Iterable[dict[str, Any]], *, pool: str = "", timeout: float | None = None) -> Iterator[ManyResult]:
        """Pipelines many calls over one stream; results come back as they finish, in any order.

        Each request is a dict with `tool` and optionally `id`, `args`, `session`, `timeout`, `idempotent`.
        A list travels in few messages; any other iterable one call per message, as it yields them.
        A server older than the batch form (see server_version()) gets one call per message."""
        batched = supports_batch_form(self.server_version())
        call = self.pools.ExecuteMany(self._many_messages(requests, pool, batched), **self._call_options(timeout))
        try:
            for message in call:
                for res in message.answers or [message]:
                    yield m.many_result(res)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        finally:
            call.cancel()

    def session(self, *, pool: str = "", affinity: str = "hint", ttl: float | None = None, id: str = "",
                labels: dict[str, str] | None = None) -> Session:
        """Opens a session (a context manager that deletes it on exit)."""
        return Session(self, self._rpc(self.pools.CreateSession, self._session_request(pool, affinity, ttl, id, labels)).session)

    def open_session(self, id: str) -> Session:
        """A handle on an existing session."""
        return Session(self, self._rpc(self.pools.GetSession, pool_pb2.GetSessionRequest(session_id=id)).session)

    def tools(self, pool: str = "") -> list[Tool]:
        return [m.tool(t) for t in self._rpc(self.pools.ListTools, pool_pb2.ListToolsRequest(pool=pool)).tools]

    def list_pools(self) -> list[PoolInfo]:
        return [m.pool_info(p) for p in self._rpc(self.pools.ListPools, pool_pb2.ListPoolsRequest()).pools]

    def logs(self, *, pool: str = "", worker: str = "", session: str | Session | None = None, level: str | None = None,
             follow: bool = False, tail: int | None = None, request_id: str = "",
             timeout: float | None = None) -> Iterator[LogRecord]:
        """What the workers printed and logged, oldest first: the records the server holds that pass
        the filters (the newest `tail` of them when set), then with `follow` new ones until you stop
        iterating. `level` is the minimum ("debug", "info", "warning", "error"). With API keys you see
        your own calls' records only (docs/logs.md)."""
        req = self._logs_request(pool, worker, session, level, follow, tail, request_id)
        for records in self._stream(self.pools.WatchLogs, req, timeout, m.log_records, quiet_cancel=True):
            yield from records

    def stats(self, pool: str = "") -> PoolStats:
        return m.pool_stats(self._rpc(self.pools.GetPoolStats, pool_pb2.GetPoolStatsRequest(pool=pool)).stats)

    def server_version(self) -> str:
        """The server's version as it states it ("" from a server too old to say); asked once per client."""
        if self._server_version is None:
            try:
                res, call = self.pools.ListPools.with_call(pool_pb2.ListPoolsRequest(), **self._call_options(None))
            except grpc.RpcError as error:
                raise from_rpc_error(error) from None
            self._server_version = header(call.initial_metadata(), VERSION_HEADER) or res.server_version
        return self._server_version

    # ---- compute ----

    def spawn(self, spec: dict[str, Any] | None = None, **fields: Any) -> ComputeHandle:
        """Spawns a compute. Fields as in ComputeSpec (proto JSON names or field names), e.g.
        spawn(provider="mock", gpu="h100", image="img", idle_ttl="300s", client_request_id="x")."""
        res = self._rpc(self.computes.SpawnCompute, self._spawn_request(spec, fields))
        return ComputeHandle(self, m.compute_from_proto(res.compute))

    def get_compute(self, id: str) -> Compute:
        return m.compute_from_proto(self._rpc(self.computes.GetCompute, compute_pb2.GetComputeRequest(id=id)).compute)

    def compute(self, id: str) -> ComputeHandle:
        return ComputeHandle(self, self.get_compute(id))

    def list_computes(self, *, provider: str = "", labels: dict[str, str] | None = None) -> list[Compute]:
        out: list[Compute] = []
        token = ""
        while True:
            res = self._rpc(self.computes.ListComputes, compute_pb2.ListComputesRequest(provider=provider, labels=labels or {}, page_token=token))
            out.extend(m.compute_from_proto(c) for c in res.computes)
            token = res.next_page_token
            if not token:
                return out

    def compute_logs(self, id: str, *, follow: bool = False, tail: int | None = None,
                     timeout: float | None = None) -> Iterator[ComputeLogLine]:
        """A compute's machine log: the newest `tail` lines (default 100), then with `follow` new ones
        until the log ends or you stop iterating. UNIMPLEMENTED for providers that keep no logs."""
        req = self._compute_logs_request(id, follow, tail)
        for lines in self._stream(self.computes.WatchComputeLogs, req, timeout, m.compute_log_lines, quiet_cancel=True):
            yield from lines

    def watch_computes(self, *, provider: str = "", include_initial: bool = False, timeout: float | None = None) -> Iterator[Compute]:
        """Every status change of your computes until you stop iterating."""
        req = compute_pb2.WatchComputesRequest(provider=provider, include_initial=include_initial)
        yield from self._stream(self.computes.WatchComputes, req, timeout, lambda e: m.compute_from_proto(e.compute), quiet_cancel=True)

    def run_job(self, endpoint: str, input: Any = None, *, provider: str = "", timeout: float | None = None,
                client_request_id: str = "") -> Job:
        """Runs a serverless job; `timeout` is the job's maximum run time."""
        req = self._run_job_request(endpoint, input, provider, timeout, client_request_id)
        return m.job_from_proto(self._rpc(self.computes.RunJob, req).job)

    def get_job(self, id: str) -> Job:
        return m.job_from_proto(self._rpc(self.computes.GetJob, compute_pb2.GetJobRequest(id=id)).job)

    def cancel_job(self, id: str) -> Job:
        return m.job_from_proto(self._rpc(self.computes.CancelJob, compute_pb2.CancelJobRequest(id=id)).job)

    def stream_job(self, id: str, *, timeout: float | None = None) -> Generator[Any, None, Job | None]:
        """Yields a job's partial outputs; the final Job is the generator's return value."""
        for e in self._stream(self.computes.StreamJob, compute_pb2.StreamJobRequest(id=id), timeout, lambda e: e):
            if e.WhichOneof("event") == "output":
                yield values.from_value(e.output)
            elif e.WhichOneof("event") == "job":
                return m.job_from_proto(e.job)
        return None

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
