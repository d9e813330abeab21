import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from pyfleet.pool.v1 import error_pb2 as _error_pb2
from pyfleet.pool.v1 import tool_pb2 as _tool_pb2
from pyfleet.pool.v1 import variable_pb2 as _variable_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Affinity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AFFINITY_UNSPECIFIED: _ClassVar[Affinity]
    AFFINITY_HINT: _ClassVar[Affinity]
    AFFINITY_STRICT_QUEUE: _ClassVar[Affinity]
    AFFINITY_STRICT_FAIL_FAST: _ClassVar[Affinity]

class VariableChange(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VARIABLE_CHANGE_UNSPECIFIED: _ClassVar[VariableChange]
    VARIABLE_CHANGE_SET: _ClassVar[VariableChange]
    VARIABLE_CHANGE_DELETED: _ClassVar[VariableChange]

class PoolEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POOL_EVENT_KIND_UNSPECIFIED: _ClassVar[PoolEventKind]
    POOL_EVENT_KIND_WORKER_STARTING: _ClassVar[PoolEventKind]
    POOL_EVENT_KIND_WORKER_READY: _ClassVar[PoolEventKind]
    POOL_EVENT_KIND_WORKER_DIED: _ClassVar[PoolEventKind]
    POOL_EVENT_KIND_WORKER_RECYCLED: _ClassVar[PoolEventKind]
    POOL_EVENT_KIND_SESSION_REPINNED: _ClassVar[PoolEventKind]
    POOL_EVENT_KIND_QUEUE_SATURATED: _ClassVar[PoolEventKind]
    POOL_EVENT_KIND_CIRCUIT_OPEN: _ClassVar[PoolEventKind]
    POOL_EVENT_KIND_CIRCUIT_CLOSED: _ClassVar[PoolEventKind]
    POOL_EVENT_KIND_SCALE_UP: _ClassVar[PoolEventKind]
    POOL_EVENT_KIND_SCALE_DOWN: _ClassVar[PoolEventKind]

class LogLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOG_LEVEL_UNSPECIFIED: _ClassVar[LogLevel]
    LOG_LEVEL_DEBUG: _ClassVar[LogLevel]
    LOG_LEVEL_INFO: _ClassVar[LogLevel]
    LOG_LEVEL_WARNING: _ClassVar[LogLevel]
    LOG_LEVEL_ERROR: _ClassVar[LogLevel]

class LogSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOG_SOURCE_UNSPECIFIED: _ClassVar[LogSource]
    LOG_SOURCE_STDOUT: _ClassVar[LogSource]
    LOG_SOURCE_STDERR: _ClassVar[LogSource]
    LOG_SOURCE_LOGGING: _ClassVar[LogSource]
AFFINITY_UNSPECIFIED: Affinity
AFFINITY_HINT: Affinity
AFFINITY_STRICT_QUEUE: Affinity
AFFINITY_STRICT_FAIL_FAST: Affinity
VARIABLE_CHANGE_UNSPECIFIED: VariableChange
VARIABLE_CHANGE_SET: VariableChange
VARIABLE_CHANGE_DELETED: VariableChange
POOL_EVENT_KIND_UNSPECIFIED: PoolEventKind
POOL_EVENT_KIND_WORKER_STARTING: PoolEventKind
POOL_EVENT_KIND_WORKER_READY: PoolEventKind
POOL_EVENT_KIND_WORKER_DIED: PoolEventKind
POOL_EVENT_KIND_WORKER_RECYCLED: PoolEventKind
POOL_EVENT_KIND_SESSION_REPINNED: PoolEventKind
POOL_EVENT_KIND_QUEUE_SATURATED: PoolEventKind
POOL_EVENT_KIND_CIRCUIT_OPEN: PoolEventKind
POOL_EVENT_KIND_CIRCUIT_CLOSED: PoolEventKind
POOL_EVENT_KIND_SCALE_UP: PoolEventKind
POOL_EVENT_KIND_SCALE_DOWN: PoolEventKind
LOG_LEVEL_UNSPECIFIED: LogLevel
LOG_LEVEL_DEBUG: LogLevel
LOG_LEVEL_INFO: LogLevel
LOG_LEVEL_WARNING: LogLevel
LOG_LEVEL_ERROR: LogLevel
LOG_SOURCE_UNSPECIFIED: LogSource
LOG_SOURCE_STDOUT: LogSource
LOG_SOURCE_STDERR: LogSource
LOG_SOURCE_LOGGING: LogSource

class ExecuteRequest(_message.Message):
    __slots__ = ("pool", "tool", "args", "binary_args", "session_id", "idempotent", "timeout", "args_json", "result_as_json")
    class BinaryArgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    POOL_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    BINARY_ARGS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    ARGS_JSON_FIELD_NUMBER: _ClassVar[int]
    RESULT_AS_JSON_FIELD_NUMBER: _ClassVar[int]
    pool: str
    tool: str
    args: _struct_pb2.Struct
    binary_args: _containers.ScalarMap[str, bytes]
    session_id: str
    idempotent: bool
    timeout: _duration_pb2.Duration
    args_json: str
    result_as_json: bool
    def __init__(self, pool: _Optional[str] = ..., tool: _Optional[str] = ..., args: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., binary_args: _Optional[_Mapping[str, bytes]] = ..., session_id: _Optional[str] = ..., idempotent: _Optional[bool] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., args_json: _Optional[str] = ..., result_as_json: _Optional[bool] = ...) -> None: ...

class ExecuteResponse(_message.Message):
    __slots__ = ("result", "binary_result", "info", "result_json")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    BINARY_RESULT_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    result: _struct_pb2.Value
    binary_result: bytes
    info: CallInfo
    result_json: str
    def __init__(self, result: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., binary_result: _Optional[bytes] = ..., info: _Optional[_Union[CallInfo, _Mapping]] = ..., result_json: _Optional[str] = ...) -> None: ...

class CallInfo(_message.Message):
    __slots__ = ("worker_id", "worker_pid", "attempts", "queued", "ran")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_PID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    RAN_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    worker_pid: int
    attempts: int
    queued: _duration_pb2.Duration
    ran: _duration_pb2.Duration
    def __init__(self, worker_id: _Optional[str] = ..., worker_pid: _Optional[int] = ..., attempts: _Optional[int] = ..., queued: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., ran: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ExecuteStreamRequest(_message.Message):
    __slots__ = ("pool", "tool", "args", "binary_args", "session_id", "idempotent", "timeout", "max_chunks_per_message", "args_json", "result_as_json")
    class BinaryArgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    POOL_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    BINARY_ARGS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    MAX_CHUNKS_PER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ARGS_JSON_FIELD_NUMBER: _ClassVar[int]
    RESULT_AS_JSON_FIELD_NUMBER: _ClassVar[int]
    pool: str
    tool: str
    args: _struct_pb2.Struct
    binary_args: _containers.ScalarMap[str, bytes]
    session_id: str
    idempotent: bool
    timeout: _duration_pb2.Duration
    max_chunks_per_message: int
    args_json: str
    result_as_json: bool
    def __init__(self, pool: _Optional[str] = ..., tool: _Optional[str] = ..., args: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., binary_args: _Optional[_Mapping[str, bytes]] = ..., session_id: _Optional[str] = ..., idempotent: _Optional[bool] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_chunks_per_message: _Optional[int] = ..., args_json: _Optional[str] = ..., result_as_json: _Optional[bool] = ...) -> None: ...

class ExecuteStreamResponse(_message.Message):
    __slots__ = ("chunk", "binary_chunk", "done", "chunk_batch")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    BINARY_CHUNK_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    CHUNK_BATCH_FIELD_NUMBER: _ClassVar[int]
    chunk: _struct_pb2.Value
    binary_chunk: bytes
    done: StreamDone
    chunk_batch: ChunkBatch
    def __init__(self, chunk: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., binary_chunk: _Optional[bytes] = ..., done: _Optional[_Union[StreamDone, _Mapping]] = ..., chunk_batch: _Optional[_Union[ChunkBatch, _Mapping]] = ...) -> None: ...

class ChunkBatch(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, json: _Optional[_Iterable[str]] = ...) -> None: ...

class StreamDone(_message.Message):
    __slots__ = ("chunks", "result", "info", "result_json")
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    chunks: int
    result: _struct_pb2.Value
    info: CallInfo
    result_json: str
    def __init__(self, chunks: _Optional[int] = ..., result: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., info: _Optional[_Union[CallInfo, _Mapping]] = ..., result_json: _Optional[str] = ...) -> None: ...

class ExecuteManyRequest(_message.Message):
    __slots__ = ("id", "pool", "tool", "args", "binary_args", "session_id", "idempotent", "timeout", "calls", "args_json", "result_as_json", "max_answers_per_message")
    class BinaryArgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    BINARY_ARGS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    ARGS_JSON_FIELD_NUMBER: _ClassVar[int]
    RESULT_AS_JSON_FIELD_NUMBER: _ClassVar[int]
    MAX_ANSWERS_PER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    pool: str
    tool: str
    args: _struct_pb2.Struct
    binary_args: _containers.ScalarMap[str, bytes]
    session_id: str
    idempotent: bool
    timeout: _duration_pb2.Duration
    calls: _containers.RepeatedCompositeFieldContainer[ExecuteManyRequest]
    args_json: str
    result_as_json: bool
    max_answers_per_message: int
    def __init__(self, id: _Optional[str] = ..., pool: _Optional[str] = ..., tool: _Optional[str] = ..., args: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., binary_args: _Optional[_Mapping[str, bytes]] = ..., session_id: _Optional[str] = ..., idempotent: _Optional[bool] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., calls: _Optional[_Iterable[_Union[ExecuteManyRequest, _Mapping]]] = ..., args_json: _Optional[str] = ..., result_as_json: _Optional[bool] = ..., max_answers_per_message: _Optional[int] = ...) -> None: ...

class ExecuteManyResponse(_message.Message):
    __slots__ = ("id", "result", "error", "answers")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    id: str
    result: ExecuteResponse
    error: _error_pb2.CallStatus
    answers: _containers.RepeatedCompositeFieldContainer[ExecuteManyResponse]
    def __init__(self, id: _Optional[str] = ..., result: _Optional[_Union[ExecuteResponse, _Mapping]] = ..., error: _Optional[_Union[_error_pb2.CallStatus, _Mapping]] = ..., answers: _Optional[_Iterable[_Union[ExecuteManyResponse, _Mapping]]] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("id", "pool", "affinity", "ttl", "owner", "worker_id", "labels", "created_at", "last_used_at", "expires_at", "state_lost_at", "stats")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    AFFINITY_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_LOST_AT_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    id: str
    pool: str
    affinity: Affinity
    ttl: _duration_pb2.Duration
    owner: str
    worker_id: str
    labels: _containers.ScalarMap[str, str]
    created_at: _timestamp_pb2.Timestamp
    last_used_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    state_lost_at: _timestamp_pb2.Timestamp
    stats: SessionStats
    def __init__(self, id: _Optional[str] = ..., pool: _Optional[str] = ..., affinity: _Optional[_Union[Affinity, str]] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., owner: _Optional[str] = ..., worker_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_used_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state_lost_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stats: _Optional[_Union[SessionStats, _Mapping]] = ...) -> None: ...

class SessionStats(_message.Message):
    __slots__ = ("calls", "errors", "repins", "variables")
    CALLS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    REPINS_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    calls: int
    errors: int
    repins: int
    variables: int
    def __init__(self, calls: _Optional[int] = ..., errors: _Optional[int] = ..., repins: _Optional[int] = ..., variables: _Optional[int] = ...) -> None: ...

class CreateSessionRequest(_message.Message):
    __slots__ = ("pool", "affinity", "ttl", "session_id", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    POOL_FIELD_NUMBER: _ClassVar[int]
    AFFINITY_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    pool: str
    affinity: Affinity
    ttl: _duration_pb2.Duration
    session_id: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, pool: _Optional[str] = ..., affinity: _Optional[_Union[Affinity, str]] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., session_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CreateSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class GetSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("pool", "page_size", "page_token")
    POOL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    pool: str
    page_size: int
    page_token: str
    def __init__(self, pool: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions", "next_page_token")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    next_page_token: str
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class DeleteSessionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetVariableRequest(_message.Message):
    __slots__ = ("session_id", "name", "value", "type", "constraints", "description", "expected_version")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    name: str
    value: _variable_pb2.TypedValue
    type: _variable_pb2.VariableType
    constraints: _variable_pb2.Constraints
    description: str
    expected_version: int
    def __init__(self, session_id: _Optional[str] = ..., name: _Optional[str] = ..., value: _Optional[_Union[_variable_pb2.TypedValue, _Mapping]] = ..., type: _Optional[_Union[_variable_pb2.VariableType, str]] = ..., constraints: _Optional[_Union[_variable_pb2.Constraints, _Mapping]] = ..., description: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class SetVariableResponse(_message.Message):
    __slots__ = ("variable",)
    VARIABLE_FIELD_NUMBER: _ClassVar[int]
    variable: _variable_pb2.Variable
    def __init__(self, variable: _Optional[_Union[_variable_pb2.Variable, _Mapping]] = ...) -> None: ...

class GetVariableRequest(_message.Message):
    __slots__ = ("session_id", "name")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    name: str
    def __init__(self, session_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetVariableResponse(_message.Message):
    __slots__ = ("variable",)
    VARIABLE_FIELD_NUMBER: _ClassVar[int]
    variable: _variable_pb2.Variable
    def __init__(self, variable: _Optional[_Union[_variable_pb2.Variable, _Mapping]] = ...) -> None: ...

class ListVariablesRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class ListVariablesResponse(_message.Message):
    __slots__ = ("variables",)
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    variables: _containers.RepeatedCompositeFieldContainer[_variable_pb2.Variable]
    def __init__(self, variables: _Optional[_Iterable[_Union[_variable_pb2.Variable, _Mapping]]] = ...) -> None: ...

class DeleteVariableRequest(_message.Message):
    __slots__ = ("session_id", "name", "expected_version")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    name: str
    expected_version: int
    def __init__(self, session_id: _Optional[str] = ..., name: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DeleteVariableResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchVariablesRequest(_message.Message):
    __slots__ = ("session_id", "names", "include_initial")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INITIAL_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    names: _containers.RepeatedScalarFieldContainer[str]
    include_initial: bool
    def __init__(self, session_id: _Optional[str] = ..., names: _Optional[_Iterable[str]] = ..., include_initial: _Optional[bool] = ...) -> None: ...

class WatchVariablesResponse(_message.Message):
    __slots__ = ("change", "variable")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    VARIABLE_FIELD_NUMBER: _ClassVar[int]
    change: VariableChange
    variable: _variable_pb2.Variable
    def __init__(self, change: _Optional[_Union[VariableChange, str]] = ..., variable: _Optional[_Union[_variable_pb2.Variable, _Mapping]] = ...) -> None: ...

class ListToolsRequest(_message.Message):
    __slots__ = ("pool",)
    POOL_FIELD_NUMBER: _ClassVar[int]
    pool: str
    def __init__(self, pool: _Optional[str] = ...) -> None: ...

class ListToolsResponse(_message.Message):
    __slots__ = ("tools",)
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    tools: _containers.RepeatedCompositeFieldContainer[_tool_pb2.ToolSpec]
    def __init__(self, tools: _Optional[_Iterable[_Union[_tool_pb2.ToolSpec, _Mapping]]] = ...) -> None: ...

class ListPoolsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPoolsResponse(_message.Message):
    __slots__ = ("pools", "server_version")
    POOLS_FIELD_NUMBER: _ClassVar[int]
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    pools: _containers.RepeatedCompositeFieldContainer[PoolInfo]
    server_version: str
    def __init__(self, pools: _Optional[_Iterable[_Union[PoolInfo, _Mapping]]] = ..., server_version: _Optional[str] = ...) -> None: ...

class PoolInfo(_message.Message):
    __slots__ = ("name", "adapter", "size", "concurrency", "start_mode", "ready", "workers", "is_default", "min_size", "max_size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    START_MODE_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    MIN_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    adapter: str
    size: int
    concurrency: int
    start_mode: str
    ready: bool
    workers: int
    is_default: bool
    min_size: int
    max_size: int
    def __init__(self, name: _Optional[str] = ..., adapter: _Optional[str] = ..., size: _Optional[int] = ..., concurrency: _Optional[int] = ..., start_mode: _Optional[str] = ..., ready: _Optional[bool] = ..., workers: _Optional[int] = ..., is_default: _Optional[bool] = ..., min_size: _Optional[int] = ..., max_size: _Optional[int] = ...) -> None: ...

class GetPoolStatsRequest(_message.Message):
    __slots__ = ("pool",)
    POOL_FIELD_NUMBER: _ClassVar[int]
    pool: str
    def __init__(self, pool: _Optional[str] = ...) -> None: ...

class GetPoolStatsResponse(_message.Message):
    __slots__ = ("stats",)
    STATS_FIELD_NUMBER: _ClassVar[int]
    stats: PoolStats
    def __init__(self, stats: _Optional[_Union[PoolStats, _Mapping]] = ...) -> None: ...

class PoolStats(_message.Message):
    __slots__ = ("pool", "workers_starting", "workers_ready", "workers_busy", "workers_draining", "queue_depth", "in_flight", "restarts", "calls_total", "errors_by_code", "sessions", "latency_p50_ms", "latency_p99_ms", "circuit_open", "workers_remote", "retries", "workers_desired")
    class ErrorsByCodeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    POOL_FIELD_NUMBER: _ClassVar[int]
    WORKERS_STARTING_FIELD_NUMBER: _ClassVar[int]
    WORKERS_READY_FIELD_NUMBER: _ClassVar[int]
    WORKERS_BUSY_FIELD_NUMBER: _ClassVar[int]
    WORKERS_DRAINING_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    CALLS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    ERRORS_BY_CODE_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P50_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P99_MS_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_OPEN_FIELD_NUMBER: _ClassVar[int]
    WORKERS_REMOTE_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    WORKERS_DESIRED_FIELD_NUMBER: _ClassVar[int]
    pool: str
    workers_starting: int
    workers_ready: int
    workers_busy: int
    workers_draining: int
    queue_depth: int
    in_flight: int
    restarts: int
    calls_total: int
    errors_by_code: _containers.ScalarMap[str, int]
    sessions: int
    latency_p50_ms: float
    latency_p99_ms: float
    circuit_open: bool
    workers_remote: int
    retries: int
    workers_desired: int
    def __init__(self, pool: _Optional[str] = ..., workers_starting: _Optional[int] = ..., workers_ready: _Optional[int] = ..., workers_busy: _Optional[int] = ..., workers_draining: _Optional[int] = ..., queue_depth: _Optional[int] = ..., in_flight: _Optional[int] = ..., restarts: _Optional[int] = ..., calls_total: _Optional[int] = ..., errors_by_code: _Optional[_Mapping[str, int]] = ..., sessions: _Optional[int] = ..., latency_p50_ms: _Optional[float] = ..., latency_p99_ms: _Optional[float] = ..., circuit_open: _Optional[bool] = ..., workers_remote: _Optional[int] = ..., retries: _Optional[int] = ..., workers_desired: _Optional[int] = ...) -> None: ...

class WatchPoolRequest(_message.Message):
    __slots__ = ("pool",)
    POOL_FIELD_NUMBER: _ClassVar[int]
    pool: str
    def __init__(self, pool: _Optional[str] = ...) -> None: ...

class WatchPoolResponse(_message.Message):
    __slots__ = ("kind", "pool", "time", "worker_id", "worker_pid", "session_id", "message", "scale")
    KIND_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_PID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    kind: PoolEventKind
    pool: str
    time: _timestamp_pb2.Timestamp
    worker_id: str
    worker_pid: int
    session_id: str
    message: str
    scale: ScaleDecision
    def __init__(self, kind: _Optional[_Union[PoolEventKind, str]] = ..., pool: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., worker_id: _Optional[str] = ..., worker_pid: _Optional[int] = ..., session_id: _Optional[str] = ..., message: _Optional[str] = ..., scale: _Optional[_Union[ScaleDecision, _Mapping]] = ...) -> None: ...

class ScaleDecision(_message.Message):
    __slots__ = ("reason", "from_workers", "to_workers", "queue_depth", "in_flight")
    REASON_FIELD_NUMBER: _ClassVar[int]
    FROM_WORKERS_FIELD_NUMBER: _ClassVar[int]
    TO_WORKERS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    reason: str
    from_workers: int
    to_workers: int
    queue_depth: int
    in_flight: int
    def __init__(self, reason: _Optional[str] = ..., from_workers: _Optional[int] = ..., to_workers: _Optional[int] = ..., queue_depth: _Optional[int] = ..., in_flight: _Optional[int] = ...) -> None: ...

class WatchLogsRequest(_message.Message):
    __slots__ = ("pool", "worker_id", "session_id", "min_level", "follow", "tail", "request_id")
    POOL_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_LEVEL_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    TAIL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    pool: str
    worker_id: str
    session_id: str
    min_level: LogLevel
    follow: bool
    tail: int
    request_id: str
    def __init__(self, pool: _Optional[str] = ..., worker_id: _Optional[str] = ..., session_id: _Optional[str] = ..., min_level: _Optional[_Union[LogLevel, str]] = ..., follow: _Optional[bool] = ..., tail: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class WatchLogsResponse(_message.Message):
    __slots__ = ("records", "dropped")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[LogRecord]
    dropped: int
    def __init__(self, records: _Optional[_Iterable[_Union[LogRecord, _Mapping]]] = ..., dropped: _Optional[int] = ...) -> None: ...

class LogRecord(_message.Message):
    __slots__ = ("time", "level", "message", "source", "logger", "pool", "worker_id", "worker_pid", "session_id", "request_id", "tool", "seq")
    TIME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LOGGER_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_PID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    level: LogLevel
    message: str
    source: LogSource
    logger: str
    pool: str
    worker_id: str
    worker_pid: int
    session_id: str
    request_id: str
    tool: str
    seq: int
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., level: _Optional[_Union[LogLevel, str]] = ..., message: _Optional[str] = ..., source: _Optional[_Union[LogSource, str]] = ..., logger: _Optional[str] = ..., pool: _Optional[str] = ..., worker_id: _Optional[str] = ..., worker_pid: _Optional[int] = ..., session_id: _Optional[str] = ..., request_id: _Optional[str] = ..., tool: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...
