import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TargetKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TARGET_KIND_UNSPECIFIED: _ClassVar[TargetKind]
    TARGET_KIND_SERVER: _ClassVar[TargetKind]
    TARGET_KIND_PROVIDER: _ClassVar[TargetKind]

class Credentials(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREDENTIALS_UNSPECIFIED: _ClassVar[Credentials]
    CREDENTIALS_NONE: _ClassVar[Credentials]
    CREDENTIALS_INVALID: _ClassVar[Credentials]
    CREDENTIALS_OTHER_TENANT: _ClassVar[Credentials]
TARGET_KIND_UNSPECIFIED: TargetKind
TARGET_KIND_SERVER: TargetKind
TARGET_KIND_PROVIDER: TargetKind
CREDENTIALS_UNSPECIFIED: Credentials
CREDENTIALS_NONE: Credentials
CREDENTIALS_INVALID: Credentials
CREDENTIALS_OTHER_TENANT: Credentials

class Suite(_message.Message):
    __slots__ = ("name", "description", "target", "requires", "cases")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_FIELD_NUMBER: _ClassVar[int]
    CASES_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    target: TargetKind
    requires: _containers.RepeatedScalarFieldContainer[str]
    cases: _containers.RepeatedCompositeFieldContainer[Case]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., target: _Optional[_Union[TargetKind, str]] = ..., requires: _Optional[_Iterable[str]] = ..., cases: _Optional[_Iterable[_Union[Case, _Mapping]]] = ...) -> None: ...

class Case(_message.Message):
    __slots__ = ("name", "description", "target", "requires", "steps", "cleanup", "exclusive")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CLEANUP_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIVE_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    target: TargetKind
    requires: _containers.RepeatedScalarFieldContainer[str]
    steps: _containers.RepeatedCompositeFieldContainer[Step]
    cleanup: _containers.RepeatedCompositeFieldContainer[Step]
    exclusive: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., target: _Optional[_Union[TargetKind, str]] = ..., requires: _Optional[_Iterable[str]] = ..., steps: _Optional[_Iterable[_Union[Step, _Mapping]]] = ..., cleanup: _Optional[_Iterable[_Union[Step, _Mapping]]] = ..., exclusive: _Optional[bool] = ...) -> None: ...

class Step(_message.Message):
    __slots__ = ("name", "rpc", "request", "requests", "credentials", "timeout", "cancel", "expect", "capture", "repeat", "http", "pipelined")
    class CaptureEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    RPC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    EXPECT_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_FIELD_NUMBER: _ClassVar[int]
    REPEAT_FIELD_NUMBER: _ClassVar[int]
    HTTP_FIELD_NUMBER: _ClassVar[int]
    PIPELINED_FIELD_NUMBER: _ClassVar[int]
    name: str
    rpc: str
    request: _struct_pb2.Struct
    requests: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    credentials: Credentials
    timeout: _duration_pb2.Duration
    cancel: CancelPoint
    expect: Expectation
    capture: _containers.ScalarMap[str, str]
    repeat: int
    http: HttpRequest
    pipelined: bool
    def __init__(self, name: _Optional[str] = ..., rpc: _Optional[str] = ..., request: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., requests: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., credentials: _Optional[_Union[Credentials, str]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., cancel: _Optional[_Union[CancelPoint, _Mapping]] = ..., expect: _Optional[_Union[Expectation, _Mapping]] = ..., capture: _Optional[_Mapping[str, str]] = ..., repeat: _Optional[int] = ..., http: _Optional[_Union[HttpRequest, _Mapping]] = ..., pipelined: _Optional[bool] = ...) -> None: ...

class CancelPoint(_message.Message):
    __slots__ = ("after_messages", "after")
    AFTER_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    after_messages: int
    after: _duration_pb2.Duration
    def __init__(self, after_messages: _Optional[int] = ..., after: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Expectation(_message.Message):
    __slots__ = ("code", "any_code", "message_contains", "response", "checks", "stream", "tool_error", "http_status", "body_contains")
    CODE_FIELD_NUMBER: _ClassVar[int]
    ANY_CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TOOL_ERROR_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    BODY_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    code: str
    any_code: _containers.RepeatedScalarFieldContainer[str]
    message_contains: str
    response: _struct_pb2.Struct
    checks: _containers.RepeatedCompositeFieldContainer[FieldCheck]
    stream: StreamExpectation
    tool_error: _struct_pb2.Struct
    http_status: int
    body_contains: str
    def __init__(self, code: _Optional[str] = ..., any_code: _Optional[_Iterable[str]] = ..., message_contains: _Optional[str] = ..., response: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., checks: _Optional[_Iterable[_Union[FieldCheck, _Mapping]]] = ..., stream: _Optional[_Union[StreamExpectation, _Mapping]] = ..., tool_error: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., http_status: _Optional[int] = ..., body_contains: _Optional[str] = ...) -> None: ...

class StreamExpectation(_message.Message):
    __slots__ = ("count", "min_count", "max_count", "messages", "last", "any_order")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MIN_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_COUNT_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    ANY_ORDER_FIELD_NUMBER: _ClassVar[int]
    count: int
    min_count: int
    max_count: int
    messages: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    last: _struct_pb2.Struct
    any_order: bool
    def __init__(self, count: _Optional[int] = ..., min_count: _Optional[int] = ..., max_count: _Optional[int] = ..., messages: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., last: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., any_order: _Optional[bool] = ...) -> None: ...

class FieldCheck(_message.Message):
    __slots__ = ("path", "equals", "present", "greater_than", "less_than", "matches", "equals_captured", "differs_from_captured", "length", "contains_captured", "lacks_captured", "contains", "later_than_captured")
    PATH_FIELD_NUMBER: _ClassVar[int]
    EQUALS_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    GREATER_THAN_FIELD_NUMBER: _ClassVar[int]
    LESS_THAN_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    EQUALS_CAPTURED_FIELD_NUMBER: _ClassVar[int]
    DIFFERS_FROM_CAPTURED_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    CONTAINS_CAPTURED_FIELD_NUMBER: _ClassVar[int]
    LACKS_CAPTURED_FIELD_NUMBER: _ClassVar[int]
    CONTAINS_FIELD_NUMBER: _ClassVar[int]
    LATER_THAN_CAPTURED_FIELD_NUMBER: _ClassVar[int]
    path: str
    equals: _struct_pb2.Value
    present: bool
    greater_than: float
    less_than: float
    matches: str
    equals_captured: str
    differs_from_captured: str
    length: int
    contains_captured: str
    lacks_captured: str
    contains: _struct_pb2.Value
    later_than_captured: str
    def __init__(self, path: _Optional[str] = ..., equals: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., present: _Optional[bool] = ..., greater_than: _Optional[float] = ..., less_than: _Optional[float] = ..., matches: _Optional[str] = ..., equals_captured: _Optional[str] = ..., differs_from_captured: _Optional[str] = ..., length: _Optional[int] = ..., contains_captured: _Optional[str] = ..., lacks_captured: _Optional[str] = ..., contains: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., later_than_captured: _Optional[str] = ...) -> None: ...

class HttpRequest(_message.Message):
    __slots__ = ("method", "path", "headers", "body", "body_base64")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    BODY_BASE64_FIELD_NUMBER: _ClassVar[int]
    method: str
    path: str
    headers: _containers.ScalarMap[str, str]
    body: str
    body_base64: str
    def __init__(self, method: _Optional[str] = ..., path: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., body: _Optional[str] = ..., body_base64: _Optional[str] = ...) -> None: ...
