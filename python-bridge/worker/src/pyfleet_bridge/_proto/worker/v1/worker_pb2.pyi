from pyfleet_bridge._proto.pool.v1 import tool_pb2 as _tool_pb2
from pyfleet_bridge._proto.pool.v1 import variable_pb2 as _variable_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_KIND_UNSPECIFIED: _ClassVar[ErrorKind]
    ERROR_KIND_TOOL_RAISED: _ClassVar[ErrorKind]
    ERROR_KIND_UNKNOWN_TOOL: _ClassVar[ErrorKind]
    ERROR_KIND_BAD_ARGUMENTS: _ClassVar[ErrorKind]
    ERROR_KIND_CANCELLED: _ClassVar[ErrorKind]
    ERROR_KIND_DEADLINE_EXCEEDED: _ClassVar[ErrorKind]
    ERROR_KIND_NOT_SERIALIZABLE: _ClassVar[ErrorKind]
    ERROR_KIND_OVERLOADED: _ClassVar[ErrorKind]
    ERROR_KIND_INTERNAL: _ClassVar[ErrorKind]
    ERROR_KIND_NOT_STARTED: _ClassVar[ErrorKind]

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
ERROR_KIND_UNSPECIFIED: ErrorKind
ERROR_KIND_TOOL_RAISED: ErrorKind
ERROR_KIND_UNKNOWN_TOOL: ErrorKind
ERROR_KIND_BAD_ARGUMENTS: ErrorKind
ERROR_KIND_CANCELLED: ErrorKind
ERROR_KIND_DEADLINE_EXCEEDED: ErrorKind
ERROR_KIND_NOT_SERIALIZABLE: ErrorKind
ERROR_KIND_OVERLOADED: ErrorKind
ERROR_KIND_INTERNAL: ErrorKind
ERROR_KIND_NOT_STARTED: ErrorKind
LOG_LEVEL_UNSPECIFIED: LogLevel
LOG_LEVEL_DEBUG: LogLevel
LOG_LEVEL_INFO: LogLevel
LOG_LEVEL_WARNING: LogLevel
LOG_LEVEL_ERROR: LogLevel
LOG_SOURCE_UNSPECIFIED: LogSource
LOG_SOURCE_STDOUT: LogSource
LOG_SOURCE_STDERR: LogSource
LOG_SOURCE_LOGGING: LogSource

class AttachRequest(_message.Message):
    __slots__ = ("frame",)
    FRAME_FIELD_NUMBER: _ClassVar[int]
    frame: WorkerFrame
    def __init__(self, frame: _Optional[_Union[WorkerFrame, _Mapping]] = ...) -> None: ...

class AttachResponse(_message.Message):
    __slots__ = ("frame",)
    FRAME_FIELD_NUMBER: _ClassVar[int]
    frame: ServerFrame
    def __init__(self, frame: _Optional[_Union[ServerFrame, _Mapping]] = ...) -> None: ...

class ServerFrame(_message.Message):
    __slots__ = ("call", "cancel", "credit", "callback_result", "ping", "shutdown", "release_session", "fork")
    CALL_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_RESULT_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    SHUTDOWN_FIELD_NUMBER: _ClassVar[int]
    RELEASE_SESSION_FIELD_NUMBER: _ClassVar[int]
    FORK_FIELD_NUMBER: _ClassVar[int]
    call: Call
    cancel: Cancel
    credit: Credit
    callback_result: CallbackResult
    ping: Ping
    shutdown: Shutdown
    release_session: ReleaseSession
    fork: Fork
    def __init__(self, call: _Optional[_Union[Call, _Mapping]] = ..., cancel: _Optional[_Union[Cancel, _Mapping]] = ..., credit: _Optional[_Union[Credit, _Mapping]] = ..., callback_result: _Optional[_Union[CallbackResult, _Mapping]] = ..., ping: _Optional[_Union[Ping, _Mapping]] = ..., shutdown: _Optional[_Union[Shutdown, _Mapping]] = ..., release_session: _Optional[_Union[ReleaseSession, _Mapping]] = ..., fork: _Optional[_Union[Fork, _Mapping]] = ...) -> None: ...

class WorkerFrame(_message.Message):
    __slots__ = ("hello", "ready", "result", "chunk", "error", "log", "pong", "callback", "startup_failed", "child_exited")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    PONG_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_FIELD_NUMBER: _ClassVar[int]
    STARTUP_FAILED_FIELD_NUMBER: _ClassVar[int]
    CHILD_EXITED_FIELD_NUMBER: _ClassVar[int]
    hello: Hello
    ready: Ready
    result: Result
    chunk: Chunk
    error: Error
    log: Log
    pong: Pong
    callback: Callback
    startup_failed: StartupFailed
    child_exited: ChildExited
    def __init__(self, hello: _Optional[_Union[Hello, _Mapping]] = ..., ready: _Optional[_Union[Ready, _Mapping]] = ..., result: _Optional[_Union[Result, _Mapping]] = ..., chunk: _Optional[_Union[Chunk, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., log: _Optional[_Union[Log, _Mapping]] = ..., pong: _Optional[_Union[Pong, _Mapping]] = ..., callback: _Optional[_Union[Callback, _Mapping]] = ..., startup_failed: _Optional[_Union[StartupFailed, _Mapping]] = ..., child_exited: _Optional[_Union[ChildExited, _Mapping]] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ("token", "pid", "protocol_version", "pool", "hostname", "template", "adapter")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    token: str
    pid: int
    protocol_version: int
    pool: str
    hostname: str
    template: bool
    adapter: str
    def __init__(self, token: _Optional[str] = ..., pid: _Optional[int] = ..., protocol_version: _Optional[int] = ..., pool: _Optional[str] = ..., hostname: _Optional[str] = ..., template: _Optional[bool] = ..., adapter: _Optional[str] = ...) -> None: ...

class Ready(_message.Message):
    __slots__ = ("tools", "concurrency", "adapter", "python_version", "fork_unsafe")
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    PYTHON_VERSION_FIELD_NUMBER: _ClassVar[int]
    FORK_UNSAFE_FIELD_NUMBER: _ClassVar[int]
    tools: _containers.RepeatedCompositeFieldContainer[_tool_pb2.ToolSpec]
    concurrency: int
    adapter: str
    python_version: str
    fork_unsafe: str
    def __init__(self, tools: _Optional[_Iterable[_Union[_tool_pb2.ToolSpec, _Mapping]]] = ..., concurrency: _Optional[int] = ..., adapter: _Optional[str] = ..., python_version: _Optional[str] = ..., fork_unsafe: _Optional[str] = ...) -> None: ...

class StartupFailed(_message.Message):
    __slots__ = ("phase", "type", "message", "traceback")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    phase: str
    type: str
    message: str
    traceback: str
    def __init__(self, phase: _Optional[str] = ..., type: _Optional[str] = ..., message: _Optional[str] = ..., traceback: _Optional[str] = ...) -> None: ...

class Call(_message.Message):
    __slots__ = ("id", "tool", "args", "binary_args", "session_id", "timeout_ms", "stream", "chunk_window", "request_id", "traceparent", "tracestate")
    class BinaryArgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    BINARY_ARGS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    CHUNK_WINDOW_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    TRACESTATE_FIELD_NUMBER: _ClassVar[int]
    id: int
    tool: str
    args: bytes
    binary_args: _containers.ScalarMap[str, bytes]
    session_id: str
    timeout_ms: int
    stream: bool
    chunk_window: int
    request_id: str
    traceparent: str
    tracestate: str
    def __init__(self, id: _Optional[int] = ..., tool: _Optional[str] = ..., args: _Optional[bytes] = ..., binary_args: _Optional[_Mapping[str, bytes]] = ..., session_id: _Optional[str] = ..., timeout_ms: _Optional[int] = ..., stream: _Optional[bool] = ..., chunk_window: _Optional[int] = ..., request_id: _Optional[str] = ..., traceparent: _Optional[str] = ..., tracestate: _Optional[str] = ...) -> None: ...

class Cancel(_message.Message):
    __slots__ = ("id", "reason", "only_if_queued")
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ONLY_IF_QUEUED_FIELD_NUMBER: _ClassVar[int]
    id: int
    reason: str
    only_if_queued: bool
    def __init__(self, id: _Optional[int] = ..., reason: _Optional[str] = ..., only_if_queued: _Optional[bool] = ...) -> None: ...

class Credit(_message.Message):
    __slots__ = ("id", "chunks")
    ID_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    id: int
    chunks: int
    def __init__(self, id: _Optional[int] = ..., chunks: _Optional[int] = ...) -> None: ...

class Payload(_message.Message):
    __slots__ = ("json", "raw")
    JSON_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    json: bytes
    raw: bytes
    def __init__(self, json: _Optional[bytes] = ..., raw: _Optional[bytes] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("id", "value")
    ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    id: int
    value: Payload
    def __init__(self, id: _Optional[int] = ..., value: _Optional[_Union[Payload, _Mapping]] = ...) -> None: ...

class Chunk(_message.Message):
    __slots__ = ("id", "items")
    ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    id: int
    items: _containers.RepeatedCompositeFieldContainer[Payload]
    def __init__(self, id: _Optional[int] = ..., items: _Optional[_Iterable[_Union[Payload, _Mapping]]] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("id", "kind", "type", "message", "traceback")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    id: int
    kind: ErrorKind
    type: str
    message: str
    traceback: str
    def __init__(self, id: _Optional[int] = ..., kind: _Optional[_Union[ErrorKind, str]] = ..., type: _Optional[str] = ..., message: _Optional[str] = ..., traceback: _Optional[str] = ...) -> None: ...

class Log(_message.Message):
    __slots__ = ("level", "message", "logger", "call_id", "source")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LOGGER_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    level: LogLevel
    message: str
    logger: str
    call_id: int
    source: LogSource
    def __init__(self, level: _Optional[_Union[LogLevel, str]] = ..., message: _Optional[str] = ..., logger: _Optional[str] = ..., call_id: _Optional[int] = ..., source: _Optional[_Union[LogSource, str]] = ...) -> None: ...

class Ping(_message.Message):
    __slots__ = ("nonce",)
    NONCE_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    def __init__(self, nonce: _Optional[int] = ...) -> None: ...

class Pong(_message.Message):
    __slots__ = ("nonce", "rss_bytes")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    RSS_BYTES_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    rss_bytes: int
    def __init__(self, nonce: _Optional[int] = ..., rss_bytes: _Optional[int] = ...) -> None: ...

class Shutdown(_message.Message):
    __slots__ = ("grace_ms",)
    GRACE_MS_FIELD_NUMBER: _ClassVar[int]
    grace_ms: int
    def __init__(self, grace_ms: _Optional[int] = ...) -> None: ...

class ReleaseSession(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class Fork(_message.Message):
    __slots__ = ("token", "worker_id")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    token: str
    worker_id: str
    def __init__(self, token: _Optional[str] = ..., worker_id: _Optional[str] = ...) -> None: ...

class ChildExited(_message.Message):
    __slots__ = ("pid", "exit_code", "signal")
    PID_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    pid: int
    exit_code: int
    signal: int
    def __init__(self, pid: _Optional[int] = ..., exit_code: _Optional[int] = ..., signal: _Optional[int] = ...) -> None: ...

class Callback(_message.Message):
    __slots__ = ("id", "call_id", "get_variable", "set_variable", "list_variables", "delete_variable", "call_tool")
    ID_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    GET_VARIABLE_FIELD_NUMBER: _ClassVar[int]
    SET_VARIABLE_FIELD_NUMBER: _ClassVar[int]
    LIST_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    DELETE_VARIABLE_FIELD_NUMBER: _ClassVar[int]
    CALL_TOOL_FIELD_NUMBER: _ClassVar[int]
    id: int
    call_id: int
    get_variable: GetVariable
    set_variable: SetVariable
    list_variables: ListVariables
    delete_variable: DeleteVariable
    call_tool: CallTool
    def __init__(self, id: _Optional[int] = ..., call_id: _Optional[int] = ..., get_variable: _Optional[_Union[GetVariable, _Mapping]] = ..., set_variable: _Optional[_Union[SetVariable, _Mapping]] = ..., list_variables: _Optional[_Union[ListVariables, _Mapping]] = ..., delete_variable: _Optional[_Union[DeleteVariable, _Mapping]] = ..., call_tool: _Optional[_Union[CallTool, _Mapping]] = ...) -> None: ...

class GetVariable(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class SetVariable(_message.Message):
    __slots__ = ("name", "value", "type", "expected_version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: _variable_pb2.TypedValue
    type: _variable_pb2.VariableType
    expected_version: int
    def __init__(self, name: _Optional[str] = ..., value: _Optional[_Union[_variable_pb2.TypedValue, _Mapping]] = ..., type: _Optional[_Union[_variable_pb2.VariableType, str]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ListVariables(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteVariable(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CallTool(_message.Message):
    __slots__ = ("tool", "args")
    TOOL_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    tool: str
    args: bytes
    def __init__(self, tool: _Optional[str] = ..., args: _Optional[bytes] = ...) -> None: ...

class VariableList(_message.Message):
    __slots__ = ("variables",)
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    variables: _containers.RepeatedCompositeFieldContainer[_variable_pb2.Variable]
    def __init__(self, variables: _Optional[_Iterable[_Union[_variable_pb2.Variable, _Mapping]]] = ...) -> None: ...

class CallbackError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class CallbackResult(_message.Message):
    __slots__ = ("id", "variable", "variables", "done", "value", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    VARIABLE_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: int
    variable: _variable_pb2.Variable
    variables: VariableList
    done: bool
    value: Payload
    error: CallbackError
    def __init__(self, id: _Optional[int] = ..., variable: _Optional[_Union[_variable_pb2.Variable, _Mapping]] = ..., variables: _Optional[_Union[VariableList, _Mapping]] = ..., done: _Optional[bool] = ..., value: _Optional[_Union[Payload, _Mapping]] = ..., error: _Optional[_Union[CallbackError, _Mapping]] = ...) -> None: ...
