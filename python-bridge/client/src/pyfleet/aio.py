"""The asyncio pyfleet client, on grpc.aio. Same shape as `pyfleet.Client`, with awaitables."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import grpc
from grpc import aio

from pyfleet import _values as values
from pyfleet.client import (
    _AFFINITY,
    CHUNKS_PER_MESSAGE,
    CallResult,
    Compute,
    Job,
    Variable,
    VariableEvent,
    _duration,
    _info,
    _result,
    _target,
    _variable,
    compute_from_proto,
    job_from_proto,
    stream_chunks,
)
from pyfleet.compute.v1 import compute_pb2, compute_pb2_grpc
from pyfleet.errors import FailedPrecondition, from_rpc_error
from pyfleet.pool.v1 import pool_pb2, pool_pb2_grpc


class AsyncSession:
    """A session (async context manager: deleted when the block ends)."""

    def __init__(self, client: AsyncClient, proto: pool_pb2.Session) -> None:
        self._client = client
        self.id = proto.id
        self.pool = proto.pool
        self.info = proto
        self._closed = False

    async def execute(self, tool: str, args: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return await self._client.execute(tool, args, session=self.id, pool=self.pool, **kwargs)

    def stream(self, tool: str, args: dict[str, Any] | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        return self._client.stream(tool, args, session=self.id, pool=self.pool, **kwargs)

    async def get(self, name: str) -> Any:
        res = await self._client._rpc(self._client.pools.GetVariable, pool_pb2.GetVariableRequest(session_id=self.id, name=name))
        return values.from_typed(res.variable.value)

    async def set(self, name: str, value: Any, *, type: str | None = None, expected_version: int | None = None) -> Variable:
        req = pool_pb2.SetVariableRequest(session_id=self.id, name=name, value=values.to_typed(value, type), type=values.variable_type(type))
        if expected_version is not None:
            req.expected_version = expected_version
        return _variable((await self._client._rpc(self._client.pools.SetVariable, req)).variable)

    async def delete(self, name: str) -> None:
        await self._client._rpc(self._client.pools.DeleteVariable, pool_pb2.DeleteVariableRequest(session_id=self.id, name=name))

    async def variables(self) -> list[Variable]:
        res = await self._client._rpc(self._client.pools.ListVariables, pool_pb2.ListVariablesRequest(session_id=self.id))
        return [_variable(v) for v in res.variables]

    async def watch(self, names: Iterable[str] = (), *, include_initial: bool = False) -> AsyncIterator[VariableEvent]:
        call = self._client.pools.WatchVariables(
            pool_pb2.WatchVariablesRequest(session_id=self.id, names=list(names), include_initial=include_initial))
        try:
            async for e in call:
                change = "deleted" if e.change == pool_pb2.VARIABLE_CHANGE_DELETED else "set"
                yield VariableEvent(change, _variable(e.variable))
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:  # type: ignore[attr-defined]
                raise from_rpc_error(error) from None
        finally:
            call.cancel()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._client.pools.DeleteSession(pool_pb2.DeleteSessionRequest(session_id=self.id))
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                raise from_rpc_error(error) from None

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncClient:
    """The asyncio client. `async with AsyncClient(url) as client: await client.execute("echo", {...})`."""

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float | None = None) -> None:
        target, tls = _target(url)
        metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self._metadata = metadata
        self._channel = aio.secure_channel(target, grpc.ssl_channel_credentials()) if tls else aio.insecure_channel(target)
        self.timeout = timeout
        self.pools = pool_pb2_grpc.PoolServiceStub(self._channel)
        self.computes = compute_pb2_grpc.ComputeServiceStub(self._channel)

    async def _rpc(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        try:
            return await method(request, timeout=timeout if timeout is not None else self.timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    async def execute(self, tool: str, args: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return (await self.call(tool, args, **kwargs)).value

    async def call(self, tool: str, args: dict[str, Any] | None = None, *, pool: str = "", session: str | AsyncSession | None = None,
                   timeout: float | None = None, idempotent: bool = False) -> CallResult:
        req = pool_pb2.ExecuteRequest(pool=pool, tool=tool, args_json=json.dumps(args or {}), result_as_json=True, idempotent=idempotent,
                                      session_id=session.id if isinstance(session, AsyncSession) else session or "")
        res = await self._rpc(self.pools.Execute, req, timeout)
        return CallResult(_result(res), _info(res.info))

    async def stream(self, tool: str, args: dict[str, Any] | None = None, *, pool: str = "", session: str | AsyncSession | None = None,
                     timeout: float | None = None) -> AsyncIterator[Any]:
        """Yields chunks; leaving the loop cancels the call and the Python generator."""
        req = pool_pb2.ExecuteStreamRequest(pool=pool, tool=tool, args_json=json.dumps(args or {}), result_as_json=True,
                                            session_id=session.id if isinstance(session, AsyncSession) else session or "",
                                            max_chunks_per_message=CHUNKS_PER_MESSAGE)
        call = self.pools.ExecuteStream(req, timeout=timeout if timeout is not None else self.timeout, metadata=self._metadata)
        try:
            async for message in call:
                for chunk in stream_chunks(message):
                    yield chunk
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        finally:
            call.cancel()

    async def session(self, *, pool: str = "", affinity: str = "hint", ttl: float | None = None) -> AsyncSession:
        req = pool_pb2.CreateSessionRequest(pool=pool, affinity=_AFFINITY[affinity], ttl=_duration(ttl))
        return AsyncSession(self, (await self._rpc(self.pools.CreateSession, req)).session)

    async def spawn(self, **fields: Any) -> Compute:
        from google.protobuf import json_format

        spec = compute_pb2.ComputeSpec()
        json_format.ParseDict(fields, spec)
        return compute_from_proto((await self._rpc(self.computes.SpawnCompute, compute_pb2.SpawnComputeRequest(spec=spec))).compute)

    async def wait_until_ready(self, id: str, *, timeout: float | None = None) -> Compute:
        call = self.computes.WaitCompute(compute_pb2.WaitComputeRequest(id=id, timeout=_duration(timeout)), metadata=self._metadata)
        latest: Compute | None = None
        try:
            async for res in call:
                latest = compute_from_proto(res.compute)
                if latest.status == "ready":
                    return latest
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        raise FailedPrecondition(f"compute {id} is {latest.status if latest else 'unknown'} and will not become ready")

    async def terminate(self, id: str) -> Compute:
        return compute_from_proto((await self._rpc(self.computes.TerminateCompute, compute_pb2.TerminateComputeRequest(id=id))).compute)

    async def run_job(self, endpoint: str, input: Any = None, *, provider: str = "") -> Job:
        req = compute_pb2.RunJobRequest(provider=provider, endpoint=endpoint, input=values.to_value(input))
        return job_from_proto((await self._rpc(self.computes.RunJob, req)).job)

    async def get_job(self, id: str) -> Job:
        return job_from_proto((await self._rpc(self.computes.GetJob, compute_pb2.GetJobRequest(id=id))).job)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
