"""What the clients return, as plain data, and its conversion from the contract's messages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pyfleet import _values as values
from pyfleet.compute.v1 import compute_pb2
from pyfleet.errors import PyfleetError, ToolError, from_status
from pyfleet.pool.v1 import pool_pb2


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
class SessionInfo:
    """A session as the server sees it; times are UTC datetimes, `ttl` is seconds."""

    id: str
    pool: str
    affinity: str  # "hint", "strict_queue" or "strict_fail_fast"
    ttl: float
    owner: str
    worker_id: str
    labels: dict[str, str]
    created_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None
    #: When the pinned worker died and its local state was lost; None while it lives.
    state_lost_at: datetime | None
    calls: int
    errors: int
    repins: int
    variables: int


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


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class Tool:
    """A tool of a pool, as its Python signature describes it."""

    name: str
    description: str
    streaming: bool
    idempotent: bool
    parameters: list[Parameter]
    #: A batch tool's most calls per invocation (the worker gathers concurrent calls); 0 for other tools.
    batch_size: int = 0


@dataclass(frozen=True)
class PoolInfo:
    name: str
    adapter: str
    size: int
    workers: int
    ready: bool
    is_default: bool
    #: The fewest local workers (0: the pool scales to zero); ``size`` for a fixed pool.
    min_size: int = 0
    #: The most local workers; ``size`` for a fixed pool.
    max_size: int = 0


@dataclass(frozen=True)
class PoolStats:
    pool: str
    workers_ready: int
    workers_busy: int
    workers_starting: int
    queue_depth: int
    in_flight: int
    calls_total: int
    restarts: int
    errors_by_code: dict[str, int]
    latency_p50_ms: float
    latency_p99_ms: float
    circuit_open: bool
    workers_draining: int = 0
    #: Dial-in workers (on other machines) serving the pool.
    workers_remote: int = 0
    retries: int = 0
    sessions: int = 0
    #: Local workers the pool aims to have: its size, or its autoscaling's last decision.
    workers_desired: int = 0


@dataclass(frozen=True)
class LogRecord:
    """A line a worker printed or a logging record, with where it came from (see docs/logs.md).

    `level` is "debug", "info", "warning" or "error"; `source` "stdout", "stderr" or "logging";
    `session_id`, `request_id` and `tool` are empty outside a call. `dropped_before`: records this
    reader lost just before this one because it read too slowly."""

    time: float
    level: str
    message: str
    source: str
    logger: str
    pool: str
    worker_id: str
    worker_pid: int
    session_id: str
    request_id: str
    tool: str
    seq: int
    dropped_before: int = 0


@dataclass(frozen=True)
class ComputeLogLine:
    """One line of a compute's machine log; `time` (Unix seconds) is None when the provider gives none."""

    text: str
    time: float | None
    source: str


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


def call_info(info: pool_pb2.CallInfo) -> CallInfo:
    return CallInfo(info.worker_id, info.worker_pid, info.attempts)


def result_value(res: pool_pb2.ExecuteResponse) -> Any:
    """Bytes, the JSON text the clients ask for, or (from an older server) a Value."""
    if res.binary_result:
        return res.binary_result
    if res.result_json:
        return json.loads(res.result_json)
    return values.from_value(res.result) if res.HasField("result") else None


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


def many_result(res: pool_pb2.ExecuteManyResponse) -> ManyResult:
    if res.WhichOneof("outcome") == "result":
        return ManyResult(res.id, value=result_value(res.result))
    t = res.error.tool_error
    tool_error = ToolError(t.type, t.message, t.traceback, t.tool, t.worker_id) if res.error.HasField("tool_error") else None
    return ManyResult(res.id, error=from_status(res.error.code, res.error.message, tool_error))


def _time(message: Any, name: str) -> datetime | None:
    return getattr(message, name).ToDatetime(tzinfo=timezone.utc) if message.HasField(name) else None


def session_info(s: pool_pb2.Session) -> SessionInfo:
    return SessionInfo(
        id=s.id, pool=s.pool, affinity=values.affinity_name(s.affinity), ttl=s.ttl.ToMilliseconds() / 1000,
        owner=s.owner, worker_id=s.worker_id, labels=dict(s.labels), created_at=_time(s, "created_at"),
        last_used_at=_time(s, "last_used_at"), expires_at=_time(s, "expires_at"), state_lost_at=_time(s, "state_lost_at"),
        calls=s.stats.calls, errors=s.stats.errors, repins=s.stats.repins, variables=s.stats.variables,
    )


def variable(v: Any) -> Variable:
    return Variable(v.name, values.type_name(v.type), values.from_typed(v.value), v.version, v.updated_by)


def variable_event(e: pool_pb2.WatchVariablesResponse) -> VariableEvent:
    return VariableEvent("deleted" if e.change == pool_pb2.VARIABLE_CHANGE_DELETED else "set", variable(e.variable))


def tool(t: Any) -> Tool:
    return Tool(t.name, t.description, t.streaming, t.idempotent, [Parameter(p.name, p.type, p.required) for p in t.parameters], t.batch_size)


def pool_info(p: pool_pb2.PoolInfo) -> PoolInfo:
    return PoolInfo(p.name, p.adapter, p.size, p.workers, p.ready, p.is_default, p.min_size, p.max_size)


def pool_stats(s: pool_pb2.PoolStats) -> PoolStats:
    return PoolStats(
        pool=s.pool, workers_ready=s.workers_ready, workers_busy=s.workers_busy, workers_starting=s.workers_starting,
        queue_depth=s.queue_depth, in_flight=s.in_flight, calls_total=s.calls_total, restarts=s.restarts,
        errors_by_code=dict(s.errors_by_code), latency_p50_ms=s.latency_p50_ms, latency_p99_ms=s.latency_p99_ms,
        circuit_open=s.circuit_open, workers_draining=s.workers_draining, workers_remote=s.workers_remote,
        retries=s.retries, sessions=s.sessions, workers_desired=s.workers_desired,
    )


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


def _enum_name(message: Any, field_name: str, prefix: str) -> str:
    number = getattr(message, field_name)
    value = message.DESCRIPTOR.fields_by_name[field_name].enum_type.values_by_number.get(number)
    return value.name.removeprefix(prefix).lower() if value else ""


def log_records(message: pool_pb2.WatchLogsResponse) -> list[LogRecord]:
    """The records of one WatchLogs message; the first carries the message's dropped count."""
    return [
        LogRecord(
            time=r.time.ToMilliseconds() / 1000, level=_enum_name(r, "level", "LOG_LEVEL_"), message=r.message,
            source=_enum_name(r, "source", "LOG_SOURCE_"), logger=r.logger, pool=r.pool, worker_id=r.worker_id,
            worker_pid=r.worker_pid, session_id=r.session_id, request_id=r.request_id, tool=r.tool, seq=r.seq,
            dropped_before=message.dropped if i == 0 else 0,
        )
        for i, r in enumerate(message.records)
    ]


def compute_log_lines(message: compute_pb2.WatchComputeLogsResponse) -> list[ComputeLogLine]:
    return [ComputeLogLine(line.text, line.time.ToMilliseconds() / 1000 if line.HasField("time") else None, line.source)
            for line in message.lines]


def job_from_proto(j: compute_pb2.Job) -> Job:
    return Job(
        id=j.id,
        provider=j.provider,
        endpoint=j.endpoint,
        status=j.DESCRIPTOR.fields_by_name["status"].enum_type.values_by_number[j.status].name.removeprefix("JOB_STATUS_").lower(),
        output=values.from_value(j.output) if j.HasField("output") else None,
        error=j.error,
    )
