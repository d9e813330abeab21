from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ToolError(_message.Message):
    __slots__ = ("type", "message", "traceback", "tool", "worker_id")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    type: str
    message: str
    traceback: str
    tool: str
    worker_id: str
    def __init__(self, type: _Optional[str] = ..., message: _Optional[str] = ..., traceback: _Optional[str] = ..., tool: _Optional[str] = ..., worker_id: _Optional[str] = ...) -> None: ...

class CallStatus(_message.Message):
    __slots__ = ("code", "message", "tool_error")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TOOL_ERROR_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    tool_error: ToolError
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., tool_error: _Optional[_Union[ToolError, _Mapping]] = ...) -> None: ...
