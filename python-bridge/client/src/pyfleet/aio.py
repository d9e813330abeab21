"""The asyncio pyfleet client, on grpc.aio: `pyfleet.Client`'s methods and signatures, awaitable (a test checks it)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any

import grpc
from grpc import aio

from pyfleet import _models as m
from pyfleet import _values as values
from pyfleet._base import VERSION_HEADER, BaseClient, duration, header, supports_batch_form
from pyfleet._models import (CallResult, Compute, ComputeLogLine, Job, LogRecord, ManyResult, PoolInfo, PoolStats, SessionInfo,
                             Tool, Variable, VariableEvent)
from pyfleet.compute.v1 import compute_pb2, compute_pb2_grpc
from pyfleet.errors import FailedPrecondition, from_rpc_error
from pyfleet.pool.v1 import pool_pb2, pool_pb2_grpc

__all__ = ["AsyncClient", "AsyncComputeHandle", "AsyncSession"]


class AsyncSession:
    """A session (async context manager: deleted when the block ends)."""

    def __init__(self, client: AsyncClient, proto: pool_pb2.Session) -> None:
        self._client = client
        self.id = proto.id
        self.pool = proto.pool
        self.info: SessionInfo = m.session_info(proto)
        self._closed = False

    async def execute(self, tool: str, args: dict[str, Any] | None = None, *, timeout: float | None = None,
                      idempotent: bool = False, binary_args: dict[str, bytes] | None = None) -> Any:
        return await self._client.execute(tool, args, pool=self.pool, session=self.id, timeout=timeout, idempotent=idempotent,
                                          binary_args=binary_args)

    async def call(self, tool: str, args: dict[str, Any] | None = None, *, timeout: float | None = None,
                   idempotent: bool = False, binary_args: dict[str, bytes] | None = None) -> CallResult:
        return await self._client.call(tool, args, pool=self.pool, session=self.id, timeout=timeout, idempotent=idempotent,
                                       binary_args=binary_args)

    def stream(self, tool: str, args: dict[str, Any] | None = None, *, timeout: float | None = None,
               binary_args: dict[str, bytes] | None = None) -> AsyncIterator[Any]:
        return self._client.stream(tool, args, pool=self.pool, session=self.id, timeout=timeout, binary_args=binary_args)

    async def refresh(self) -> SessionInfo:
        """The session as the server sees it now (also kept in `info`)."""
        res = await self._client._rpc(self._client.pools.GetSession, pool_pb2.GetSessionRequest(session_id=self.id))
        self.info = m.session_info(res.session)
        return self.info

    async def get(self, name: str) -> Any:
        return (await self.variable(name)).value

    async def variable(self, name: str) -> Variable:
        res = await self._client._rpc(self._client.pools.GetVariable, pool_pb2.GetVariableRequest(session_id=self.id, name=name))
        return m.variable(res.variable)

    async def set(self, name: str, value: Any, *, type: str | None = None, expected_version: int | None = None,
                  description: str = "") -> Variable:
        """Creates or updates a variable. expected_version=0: only if absent; n: only if at version n."""
        req = self._client._set_request(self.id, name, value, type, expected_version, description)
        return m.variable((await self._client._rpc(self._client.pools.SetVariable, req)).variable)

    async def delete(self, name: str, *, expected_version: int | None = None) -> None:
        await self._client._rpc(self._client.pools.DeleteVariable, self._client._delete_request(self.id, name, expected_version))

    async def variables(self) -> list[Variable]:
        res = await self._client._rpc(self._client.pools.ListVariables, pool_pb2.ListVariablesRequest(session_id=self.id))
        return [m.variable(v) for v in res.variables]

    async def watch(self, names: Iterable[str] = (), *, include_initial: bool = False, timeout: float | None = None) -> AsyncIterator[VariableEvent]:
        """Every change to the session's variables until you stop iterating (which cancels the watch)."""
        req = pool_pb2.WatchVariablesRequest(session_id=self.id, names=list(names), include_initial=include_initial)
        async for event in self._client._stream(self._client.pools.WatchVariables, req, timeout, m.variable_event, quiet_cancel=True):
            yield event

    async def close(self) -> None:
        """Deletes the session; closing twice is fine."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._client.pools.DeleteSession(pool_pb2.DeleteSessionRequest(session_id=self.id), **self._client._call_options(None))
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                raise from_rpc_error(error) from None

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncComputeHandle:
    """One compute: wait for it, touch, stop, start or terminate it (async context manager: terminated on exit)."""

    def __init__(self, client: AsyncClient, compute: Compute) -> None:
        self._client = client
        self.compute = compute

    @property
    def id(self) -> str:
        return self.compute.id

    async def refresh(self) -> Compute:
        self.compute = await self._client.get_compute(self.id)
        return self.compute

    async def wait_until_ready(self, *, on_status: Callable[[Compute], None] | None = None, timeout: float | None = None) -> Compute:
        """Returns once the compute is READY; raises FailedPrecondition if it fails, stops or ends first."""
        req = compute_pb2.WaitComputeRequest(id=self.id, timeout=duration(timeout))
        async for compute in self._client._stream(self._client.computes.WaitCompute, req, timeout + 1 if timeout else None,
                                                  lambda res: m.compute_from_proto(res.compute)):
            self.compute = compute
            if on_status:
                on_status(compute)
            if compute.status == "ready":
                return compute
        raise FailedPrecondition(f"compute {self.id} is {self.compute.status} and will not become ready")

    async def touch(self) -> Compute:
        return await self._op(self._client.computes.TouchCompute, compute_pb2.TouchComputeRequest(id=self.id))

    async def stop(self) -> Compute:
        return await self._op(self._client.computes.StopCompute, compute_pb2.StopComputeRequest(id=self.id))

    async def start(self) -> Compute:
        return await self._op(self._client.computes.StartCompute, compute_pb2.StartComputeRequest(id=self.id))

    async def terminate(self) -> Compute:
        return await self._op(self._client.computes.TerminateCompute, compute_pb2.TerminateComputeRequest(id=self.id))

    async def _op(self, method: Any, req: Any) -> Compute:
        self.compute = m.compute_from_proto((await self._client._rpc(method, req)).compute)
        return self.compute

    async def __aenter__(self) -> AsyncComputeHandle:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.terminate()


class AsyncClient(BaseClient):
    """The asyncio client. `async with AsyncClient(url) as client: await client.execute("echo", {...})`."""

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float | None = None,
                 options: list[tuple[str, Any]] | None = None) -> None:
        super().__init__(url, api_key, timeout=timeout, options=options)
        self._channel = (aio.secure_channel(self._target, grpc.ssl_channel_credentials(), options=options)
                         if self._tls else aio.insecure_channel(self._target, options=options))
        self.pools = pool_pb2_grpc.PoolServiceStub(self._channel)
        self.computes = compute_pb2_grpc.ComputeServiceStub(self._channel)

    async def _rpc(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        try:
            return await method(request, **self._call_options(timeout))
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    async def _stream(self, method: Any, request: Any, timeout: float | None, convert: Callable[[Any], Any],
                      quiet_cancel: bool = False) -> AsyncIterator[Any]:
        """A server stream's messages, converted; leaving the loop cancels the RPC."""
        call = method(request, **self._call_options(timeout))
        try:
            async for message in call:
                yield convert(message)
        except grpc.RpcError as error:
            if not (quiet_cancel and error.code() == grpc.StatusCode.CANCELLED):  # type: ignore[attr-defined]
                raise from_rpc_error(error) from None
        finally:
            call.cancel()

    # ---- pools ----

    async def execute(self, tool: str, args: dict[str, Any] | None = None, *, pool: str = "", session: str | AsyncSession | None = None,
                      timeout: float | None = None, idempotent: bool = False, binary_args: dict[str, bytes] | None = None) -> Any:
        """Runs a tool and returns its value (bytes when the tool returned bytes)."""
        return (await self.call(tool, args, pool=pool, session=session, timeout=timeout, idempotent=idempotent,
                                binary_args=binary_args)).value

    async def call(self, tool: str, args: dict[str, Any] | None = None, *, pool: str = "", session: str | AsyncSession | None = None,
                   timeout: float | None = None, idempotent: bool = False, binary_args: dict[str, bytes] | None = None) -> CallResult:
        """Runs a tool; returns its value and where it ran."""
        res = await self._rpc(self.pools.Execute, self._execute_request(tool, args, pool, session, idempotent, binary_args), timeout)
        return CallResult(m.result_value(res), m.call_info(res.info))

    async def stream(self, tool: str, args: dict[str, Any] | None = None, *, pool: str = "", session: str | AsyncSession | None = None,
                     timeout: float | None = None, binary_args: dict[str, bytes] | None = None) -> AsyncIterator[Any]:
        """Yields a generator tool's chunks; leaving the loop cancels the call and stops the Python generator."""
        req = self._stream_request(tool, args, pool, session, binary_args)
        async for chunks in self._stream(self.pools.ExecuteStream, req, timeout, m.stream_chunks):
            for chunk in chunks:
                yield chunk

    async def execute_many(self, requests: Iterable[dict[str, Any]] | AsyncIterable[dict[str, Any]], *, pool: str = "",
                           timeout: float | None = None) -> AsyncIterator[ManyResult]:
        """Pipelines many calls over one stream; results come back as they finish, in any order.
        As `Client.execute_many`; `requests` may also be an async iterable (one call per message)."""
        batched = supports_batch_form(await self.server_version())

        async def one_by_one(source: AsyncIterable[dict[str, Any]]) -> AsyncIterator[pool_pb2.ExecuteManyRequest]:
            i = 0
            async for r in source:
                yield self._many_message(r, i, pool, batched)
                i += 1

        messages = one_by_one(requests) if isinstance(requests, AsyncIterable) else self._many_messages(requests, pool, batched)
        call = self.pools.ExecuteMany(messages, **self._call_options(timeout))
        try:
            async for message in call:
                for res in message.answers or [message]:
                    yield m.many_result(res)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        finally:
            call.cancel()

    async def session(self, *, pool: str = "", affinity: str = "hint", ttl: float | None = None, id: str = "",
                      labels: dict[str, str] | None = None) -> AsyncSession:
        """Opens a session (an async context manager that deletes it on exit)."""
        return AsyncSession(self, (await self._rpc(self.pools.CreateSession, self._session_request(pool, affinity, ttl, id, labels))).session)

    async def open_session(self, id: str) -> AsyncSession:
        """A handle on an existing session."""
        return AsyncSession(self, (await self._rpc(self.pools.GetSession, pool_pb2.GetSessionRequest(session_id=id))).session)

    async def tools(self, pool: str = "") -> list[Tool]:
        return [m.tool(t) for t in (await self._rpc(self.pools.ListTools, pool_pb2.ListToolsRequest(pool=pool))).tools]

    async def list_pools(self) -> list[PoolInfo]:
        return [m.pool_info(p) for p in (await self._rpc(self.pools.ListPools, pool_pb2.ListPoolsRequest())).pools]

    async def logs(self, *, pool: str = "", worker: str = "", session: str | AsyncSession | None = None, level: str | None = None,
                   follow: bool = False, tail: int | None = None, request_id: str = "",
                   timeout: float | None = None) -> AsyncIterator[LogRecord]:
        """What the workers printed and logged, oldest first (see Client.logs)."""
        req = self._logs_request(pool, worker, session, level, follow, tail, request_id)
        async for records in self._stream(self.pools.WatchLogs, req, timeout, m.log_records, quiet_cancel=True):
            for record in records:
                yield record

    async def stats(self, pool: str = "") -> PoolStats:
        return m.pool_stats((await self._rpc(self.pools.GetPoolStats, pool_pb2.GetPoolStatsRequest(pool=pool))).stats)

    async def server_version(self) -> str:
        """The server's version as it states it ("" from a server too old to say); asked once per client."""
        if self._server_version is None:
            call = self.pools.ListPools(pool_pb2.ListPoolsRequest(), **self._call_options(None))
            try:
                res = await call
                metadata = await call.initial_metadata()
            except grpc.RpcError as error:
                raise from_rpc_error(error) from None
            self._server_version = header(metadata, VERSION_HEADER) or res.server_version
        return self._server_version

    # ---- compute ----

    async def spawn(self, spec: dict[str, Any] | None = None, **fields: Any) -> AsyncComputeHandle:
        """Spawns a compute. Fields as in ComputeSpec (proto JSON names or field names)."""
        res = await self._rpc(self.computes.SpawnCompute, self._spawn_request(spec, fields))
        return AsyncComputeHandle(self, m.compute_from_proto(res.compute))

    async def get_compute(self, id: str) -> Compute:
        return m.compute_from_proto((await self._rpc(self.computes.GetCompute, compute_pb2.GetComputeRequest(id=id))).compute)

    async def compute(self, id: str) -> AsyncComputeHandle:
        return AsyncComputeHandle(self, await self.get_compute(id))

    async def list_computes(self, *, provider: str = "", labels: dict[str, str] | None = None) -> list[Compute]:
        out: list[Compute] = []
        token = ""
        while True:
            req = compute_pb2.ListComputesRequest(provider=provider, labels=labels or {}, page_token=token)
            res = await self._rpc(self.computes.ListComputes, req)
            out.extend(m.compute_from_proto(c) for c in res.computes)
            token = res.next_page_token
            if not token:
                return out

    async def compute_logs(self, id: str, *, follow: bool = False, tail: int | None = None,
                           timeout: float | None = None) -> AsyncIterator[ComputeLogLine]:
        """A compute's machine log (see Client.compute_logs)."""
        req = self._compute_logs_request(id, follow, tail)
        async for lines in self._stream(self.computes.WatchComputeLogs, req, timeout, m.compute_log_lines, quiet_cancel=True):
            for line in lines:
                yield line

    async def watch_computes(self, *, provider: str = "", include_initial: bool = False, timeout: float | None = None) -> AsyncIterator[Compute]:
        """Every status change of your computes until you stop iterating."""
        req = compute_pb2.WatchComputesRequest(provider=provider, include_initial=include_initial)
        async for compute in self._stream(self.computes.WatchComputes, req, timeout, lambda e: m.compute_from_proto(e.compute), quiet_cancel=True):
            yield compute

    async def run_job(self, endpoint: str, input: Any = None, *, provider: str = "", timeout: float | None = None,
                      client_request_id: str = "") -> Job:
        """Runs a serverless job; `timeout` is the job's maximum run time."""
        req = self._run_job_request(endpoint, input, provider, timeout, client_request_id)
        return m.job_from_proto((await self._rpc(self.computes.RunJob, req)).job)

    async def get_job(self, id: str) -> Job:
        return m.job_from_proto((await self._rpc(self.computes.GetJob, compute_pb2.GetJobRequest(id=id))).job)

    async def cancel_job(self, id: str) -> Job:
        return m.job_from_proto((await self._rpc(self.computes.CancelJob, compute_pb2.CancelJobRequest(id=id))).job)

    async def stream_job(self, id: str, *, timeout: float | None = None) -> AsyncIterator[Any]:
        """Yields a job's partial outputs, then the final Job (an async generator cannot return a value)."""
        async for e in self._stream(self.computes.StreamJob, compute_pb2.StreamJobRequest(id=id), timeout, lambda e: e):
            if e.WhichOneof("event") == "output":
                yield values.from_value(e.output)
            elif e.WhichOneof("event") == "job":
                yield m.job_from_proto(e.job)
                return

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
