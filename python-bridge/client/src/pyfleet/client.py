"""The synchronous pyfleet client over the generated grpcio stubs."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import grpc
from google.protobuf import duration_pb2, json_format

from pyfleet import _values as values
from pyfleet.compute.v1 import compute_pb2, compute_pb2_grpc
from pyfleet.errors import FailedPrecondition, PyfleetError, from_rpc_error, from_status
from pyfleet.errors import ToolError as ToolErrorInfo
from pyfleet.pool.v1 import pool_pb2, pool_pb2_grpc

#: Chunks the server may pack in one stream message (ExecuteStreamRequest.max_chunks_per_message).
CHUNKS_PER_MESSAGE = 256
#: Calls sent in one ExecuteMany message (from a list), and answers the server may pack in one.
CALLS_PER_MESSAGE = 256


def stream_chunks(message: pool_pb2.ExecuteStreamResponse) -> Iterator[Any]:
    """The chunks one ExecuteStream message carries, in order (none for its final message)."""
    kind = message.WhichOneof("event")
    if kind == "chunk_batch":
        for text in message.chunk_batch.json:
            yield json.loads(text)
    elif kind == "chunk":
        yield values.from_value(message.chunk)
    elif kind == "binary_chunk":
        yield message.binary_chunk


_AFFINITY = {
    "hint": pool_pb2.AFFINITY_HINT,
    "strict_queue": pool_pb2.AFFINITY_STRICT_QUEUE,
    "strict_fail_fast": pool_pb2.AFFINITY_STRICT_FAIL_FAST,
}


@dataclass(frozen=True)
class CallInfo:
    worker_id: str
    worker_pid: int
    attempts: int


@dataclass(frozen=True)
class CallResult:
    value: Any
    info: CallInfo


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    value: Any
    version: int
    updated_by: str


@dataclass(frozen=True)
class VariableEvent:
    change: str  # "set" or "deleted"
    variable: Variable


@dataclass(frozen=True)
class ManyResult:
    id: str
    value: Any = None
    error: PyfleetError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Compute:
    """A compute as plain data; `status` is lowercase ("ready", "terminated", ...)."""

    id: str
    provider: str
    provider_id: str
    status: str
    status_message: str
    gpu_type: str
    cost_per_hour: float
    workers_attached: int
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Job:
    id: str
    provider: str
    endpoint: str
    status: str
    output: Any
    error: str


def _target(url: str) -> tuple[str, bool]:
    """grpcio's target ("host:port") and whether to use TLS."""
    if "://" not in url:
        return url, False
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"url must start with http:// or https:// (got {url!r})")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{parsed.hostname}:{port}", parsed.scheme == "https"


def _duration(seconds: float | None) -> duration_pb2.Duration | None:
    if seconds is None:
        return None
    d = duration_pb2.Duration()
    d.FromMilliseconds(int(seconds * 1000))
    return d


def _info(info: pool_pb2.CallInfo) -> CallInfo:
    return CallInfo(info.worker_id, info.worker_pid, info.attempts)


def _result(res: pool_pb2.ExecuteResponse) -> Any:
    if res.binary_result:
        return res.binary_result
    if res.result_json:
        return json.loads(res.result_json)
    return values.from_value(res.result) if res.HasField("result") else None


def _variable(v: Any) -> Variable:
    return Variable(v.name, values.type_name(v.type), values.from_typed(v.value), v.version, v.updated_by)


def compute_from_proto(c: compute_pb2.Compute) -> Compute:
    return Compute(
        id=c.id,
        provider=c.provider,
        provider_id=c.provider_id,
        status=compute_pb2.ComputeStatus.Name(c.status).removeprefix("COMPUTE_STATUS_").lower(),
        status_message=c.status_message,
        gpu_type=c.gpu_type,
        cost_per_hour=c.cost_per_hour,
        workers_attached=c.workers_attached,
        labels=dict(c.spec.labels),
    )


def job_from_proto(j: compute_pb2.Job) -> Job:
    from pyfleet.provider.v1 import provider_pb2

    return Job(
        id=j.id,
        provider=j.provider,
        endpoint=j.endpoint,
        status=provider_pb2.JobStatus.Name(j.status).removeprefix("JOB_STATUS_").lower(),
        output=values.from_value(j.output) if j.HasField("output") else None,
        error=j.error,
    )


class _ApiKey(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
              grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds `authorization: Bearer <key>` to every call."""

    def __init__(self, key: str) -> None:
        self._header = ("authorization", f"Bearer {key}")

    def _details(self, details: Any) -> Any:
        metadata = list(details.metadata or []) + [self._header]
        return details._replace(metadata=metadata)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)


class Session:
    """A session pinned to one worker, with server-side variables. Use it as a context manager:
    the session is deleted when the block ends."""

    def __init__(self, client: Client, proto: pool_pb2.Session) -> None:
        self._client = client
        self.id = proto.id
        self.pool = proto.pool
        self.info = proto
        self._closed = False

    def execute(self, tool: str, args: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self._client.execute(tool, args, session=self.id, pool=self.pool, **kwargs)

    def call(self, tool: str, args: dict[str, Any] | None = None, **kwargs: Any) -> CallResult:
        return self._client.call(tool, args, session=self.id, pool=self.pool, **kwargs)

    def stream(self, tool: str, args: dict[str, Any] | None = None, **kwargs: Any) -> Iterator[Any]:
        return self._client.stream(tool, args, session=self.id, pool=self.pool, **kwargs)

    def refresh(self) -> pool_pb2.Session:
        self.info = self._client._rpc(self._client.pools.GetSession, pool_pb2.GetSessionRequest(session_id=self.id)).session
        return self.info

    def get(self, name: str) -> Any:
        return self.variable(name).value

    def variable(self, name: str) -> Variable:
        res = self._client._rpc(self._client.pools.GetVariable, pool_pb2.GetVariableRequest(session_id=self.id, name=name))
        return _variable(res.variable)

    def set(self, name: str, value: Any, *, type: str | None = None, expected_version: int | None = None,
            description: str = "") -> Variable:
        """Creates or updates a variable. expected_version=0: only if absent; n: only if at version n."""
        req = pool_pb2.SetVariableRequest(
            session_id=self.id, name=name, value=values.to_typed(value, type), type=values.variable_type(type),
            description=description,
        )
        if expected_version is not None:
            req.expected_version = expected_version
        return _variable(self._client._rpc(self._client.pools.SetVariable, req).variable)

    def delete(self, name: str, *, expected_version: int | None = None) -> None:
        req = pool_pb2.DeleteVariableRequest(session_id=self.id, name=name)
        if expected_version is not None:
            req.expected_version = expected_version
        self._client._rpc(self._client.pools.DeleteVariable, req)

    def variables(self) -> list[Variable]:
        res = self._client._rpc(self._client.pools.ListVariables, pool_pb2.ListVariablesRequest(session_id=self.id))
        return [_variable(v) for v in res.variables]

    def watch(self, names: Iterable[str] = (), *, include_initial: bool = False) -> Iterator[VariableEvent]:
        """Every change to the session's variables until you stop iterating (which cancels the watch)."""
        call = self._client.pools.WatchVariables(
            pool_pb2.WatchVariablesRequest(session_id=self.id, names=list(names), include_initial=include_initial))
        try:
            for e in call:
                change = "deleted" if e.change == pool_pb2.VARIABLE_CHANGE_DELETED else "set"
                yield VariableEvent(change, _variable(e.variable))
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:  # type: ignore[attr-defined]
                raise from_rpc_error(error) from None
        finally:
            call.cancel()

    def close(self) -> None:
        """Deletes the session; closing twice is fine."""
        if self._closed:
            return
        self._closed = True
        try:
            self._client.pools.DeleteSession(pool_pb2.DeleteSessionRequest(session_id=self.id))
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
        req = compute_pb2.WaitComputeRequest(id=self.id, timeout=_duration(timeout))
        try:
            for res in self._client.computes.WaitCompute(req, timeout=(timeout + 1) if timeout else None):
                self.compute = compute_from_proto(res.compute)
                if on_status:
                    on_status(self.compute)
                if self.compute.status == "ready":
                    return self.compute
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
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
        self.compute = compute_from_proto(self._client._rpc(method, req).compute)
        return self.compute

    def __enter__(self) -> ComputeHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.terminate()


class Client:
    """A pyfleet client.

    >>> with Client("http://127.0.0.1:8080") as client:
    ...     client.execute("add", {"a": 1, "b": 2})
    3.0
    """

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float | None = None,
                 options: list[tuple[str, Any]] | None = None) -> None:
        target, tls = _target(url)
        channel = (grpc.secure_channel(target, grpc.ssl_channel_credentials(), options=options)
                   if tls else grpc.insecure_channel(target, options=options))
        self._channel = grpc.intercept_channel(channel, _ApiKey(api_key)) if api_key else channel
        self._raw_channel = channel
        self.timeout = timeout
        self.pools = pool_pb2_grpc.PoolServiceStub(self._channel)
        self.computes = compute_pb2_grpc.ComputeServiceStub(self._channel)

    def _rpc(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        try:
            return method(request, timeout=timeout if timeout is not None else self.timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    # ---- pools ----

    def execute(self, tool: str, args: dict[str, Any] | None = None, *, pool: str = "", session: str | Session | None = None,
                timeout: float | None = None, idempotent: bool = False, binary_args: dict[str, bytes] | None = None) -> Any:
        """Runs a tool and returns its value (bytes when the tool returned bytes)."""
        return self.call(tool, args, pool=pool, session=session, timeout=timeout, idempotent=idempotent,
                         binary_args=binary_args).value

    def call(self, tool: str, args: dict[str, Any] | None = None, *, pool: str = "", session: str | Session | None = None,
             timeout: float | None = None, idempotent: bool = False, binary_args: dict[str, bytes] | None = None) -> CallResult:
        """Runs a tool; returns its value and where it ran."""
        # JSON text both ways: numbers keep their type (a Struct has only doubles: 5 would come back 5.0).
        req = pool_pb2.ExecuteRequest(pool=pool, tool=tool, args_json=json.dumps(args or {}), result_as_json=True, idempotent=idempotent,
                                      session_id=session.id if isinstance(session, Session) else session or "",
                                      binary_args=binary_args or {})
        res = self._rpc(self.pools.Execute, req, timeout)
        return CallResult(_result(res), _info(res.info))

    def stream(self, tool: str, args: dict[str, Any] | None = None, *, pool: str = "", session: str | Session | None = None,
               timeout: float | None = None) -> Iterator[Any]:
        """Yields a generator tool's chunks. Breaking out of the loop cancels the call and stops the Python generator."""
        req = pool_pb2.ExecuteStreamRequest(pool=pool, tool=tool, args_json=json.dumps(args or {}), result_as_json=True,
                                            session_id=session.id if isinstance(session, Session) else session or "",
                                            max_chunks_per_message=CHUNKS_PER_MESSAGE)
        call = self.pools.ExecuteStream(req, timeout=timeout if timeout is not None else self.timeout)
        try:
            for message in call:
                yield from stream_chunks(message)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        finally:
            call.cancel()

    def execute_many(self, requests: Iterable[dict[str, Any]], *, pool: str = "") -> Iterator[ManyResult]:
        """Pipelines many calls over one stream; results come back as they finish, in any order.

        Each request is a dict with `tool` and optionally `id`, `args`, `session`, `timeout`, `idempotent`.
        A list (or other sequence) travels in messages of up to CALLS_PER_MESSAGE calls; any other iterable
        one call per message, as it yields them (it may be waiting on results)."""

        def call_of(r: dict[str, Any], i: int) -> pool_pb2.ExecuteManyRequest:
            session = r.get("session")
            return pool_pb2.ExecuteManyRequest(
                # JSON text both ways: far cheaper than Struct and Value for both sides.
                id=str(r.get("id", i)), pool=r.get("pool", pool), tool=r["tool"],
                args_json=json.dumps(r["args"]) if r.get("args") is not None else "", result_as_json=True,
                session_id=session.id if isinstance(session, Session) else session or "",
                idempotent=bool(r.get("idempotent", False)), timeout=_duration(r.get("timeout")))

        def messages() -> Iterator[pool_pb2.ExecuteManyRequest]:
            if isinstance(requests, Sequence):
                # A list is all there at once: send it in few messages. Another
                # iterable may be waiting on results, so its calls go one by one.
                for at in range(0, len(requests), CALLS_PER_MESSAGE):
                    calls = [call_of(r, at + k) for k, r in enumerate(requests[at:at + CALLS_PER_MESSAGE])]
                    yield pool_pb2.ExecuteManyRequest(calls=calls, max_answers_per_message=CALLS_PER_MESSAGE)
                return
            for i, r in enumerate(requests):
                message = call_of(r, i)
                message.max_answers_per_message = CALLS_PER_MESSAGE
                yield message

        call = self.pools.ExecuteMany(messages(), timeout=self.timeout)
        try:
            for message in call:
                for res in message.answers or [message]:
                    if res.WhichOneof("outcome") == "result":
                        yield ManyResult(res.id, value=_result(res.result))
                    else:
                        t = res.error.tool_error
                        tool_error = ToolErrorInfo(t.type, t.message, t.traceback, t.tool, t.worker_id) if res.error.HasField("tool_error") else None
                        yield ManyResult(res.id, error=from_status(res.error.code, res.error.message, tool_error))
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        finally:
            call.cancel()

    def session(self, *, pool: str = "", affinity: str = "hint", ttl: float | None = None, id: str = "",
                labels: dict[str, str] | None = None) -> Session:
        """Opens a session (a context manager that deletes it on exit)."""
        if affinity not in _AFFINITY:
            raise ValueError(f"affinity must be one of {', '.join(_AFFINITY)} (got {affinity!r})")
        req = pool_pb2.CreateSessionRequest(pool=pool, affinity=_AFFINITY[affinity], ttl=_duration(ttl), session_id=id,
                                            labels=labels or {})
        return Session(self, self._rpc(self.pools.CreateSession, req).session)

    def tools(self, pool: str = "") -> list[Any]:
        return list(self._rpc(self.pools.ListTools, pool_pb2.ListToolsRequest(pool=pool)).tools)

    def list_pools(self) -> list[Any]:
        return list(self._rpc(self.pools.ListPools, pool_pb2.ListPoolsRequest()).pools)

    def stats(self, pool: str = "") -> Any:
        return self._rpc(self.pools.GetPoolStats, pool_pb2.GetPoolStatsRequest(pool=pool)).stats

    # ---- compute ----

    def spawn(self, spec: dict[str, Any] | None = None, **fields: Any) -> ComputeHandle:
        """Spawns a compute. Fields as in ComputeSpec (proto JSON names or field names), e.g.
        spawn(provider="mock", gpu="h100", image="img", idle_ttl="300s", client_request_id="x")."""
        body = {**(spec or {}), **fields}
        proto = compute_pb2.ComputeSpec()
        try:
            json_format.ParseDict(body, proto)
        except json_format.ParseError as error:
            raise ValueError(f"bad compute spec: {error}") from None
        res = self._rpc(self.computes.SpawnCompute, compute_pb2.SpawnComputeRequest(spec=proto))
        return ComputeHandle(self, compute_from_proto(res.compute))

    def get_compute(self, id: str) -> Compute:
        return compute_from_proto(self._rpc(self.computes.GetCompute, compute_pb2.GetComputeRequest(id=id)).compute)

    def compute(self, id: str) -> ComputeHandle:
        return ComputeHandle(self, self.get_compute(id))

    def list_computes(self, *, provider: str = "", labels: dict[str, str] | None = None) -> list[Compute]:
        out: list[Compute] = []
        token = ""
        while True:
            res = self._rpc(self.computes.ListComputes, compute_pb2.ListComputesRequest(provider=provider, labels=labels or {}, page_token=token))
            out.extend(compute_from_proto(c) for c in res.computes)
            token = res.next_page_token
            if not token:
                return out

    def watch_computes(self, *, provider: str = "", include_initial: bool = False) -> Iterator[Compute]:
        call = self.computes.WatchComputes(compute_pb2.WatchComputesRequest(provider=provider, include_initial=include_initial))
        try:
            for e in call:
                yield compute_from_proto(e.compute)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:  # type: ignore[attr-defined]
                raise from_rpc_error(error) from None
        finally:
            call.cancel()

    def run_job(self, endpoint: str, input: Any = None, *, provider: str = "", timeout: float | None = None,
                client_request_id: str = "") -> Job:
        req = compute_pb2.RunJobRequest(provider=provider, endpoint=endpoint, input=values.to_value(input),
                                        timeout=_duration(timeout), client_request_id=client_request_id)
        return job_from_proto(self._rpc(self.computes.RunJob, req).job)

    def get_job(self, id: str) -> Job:
        return job_from_proto(self._rpc(self.computes.GetJob, compute_pb2.GetJobRequest(id=id)).job)

    def cancel_job(self, id: str) -> Job:
        return job_from_proto(self._rpc(self.computes.CancelJob, compute_pb2.CancelJobRequest(id=id)).job)

    def stream_job(self, id: str) -> Generator[Any, None, Job | None]:
        """Yields a job's partial outputs; the final Job is the generator's return value."""
        call = self.computes.StreamJob(compute_pb2.StreamJobRequest(id=id), timeout=self.timeout)
        try:
            for e in call:
                if e.WhichOneof("event") == "output":
                    yield values.from_value(e.output)
                elif e.WhichOneof("event") == "job":
                    return job_from_proto(e.job)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        finally:
            call.cancel()
        return None

    def close(self) -> None:
        self._raw_channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
