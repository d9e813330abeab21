import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VariableType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VARIABLE_TYPE_UNSPECIFIED: _ClassVar[VariableType]
    VARIABLE_TYPE_STRING: _ClassVar[VariableType]
    VARIABLE_TYPE_INT: _ClassVar[VariableType]
    VARIABLE_TYPE_FLOAT: _ClassVar[VariableType]
    VARIABLE_TYPE_BOOL: _ClassVar[VariableType]
    VARIABLE_TYPE_JSON: _ClassVar[VariableType]
    VARIABLE_TYPE_BYTES: _ClassVar[VariableType]
VARIABLE_TYPE_UNSPECIFIED: VariableType
VARIABLE_TYPE_STRING: VariableType
VARIABLE_TYPE_INT: VariableType
VARIABLE_TYPE_FLOAT: VariableType
VARIABLE_TYPE_BOOL: VariableType
VARIABLE_TYPE_JSON: VariableType
VARIABLE_TYPE_BYTES: VariableType

class TypedValue(_message.Message):
    __slots__ = ("string_value", "int_value", "float_value", "bool_value", "json_value", "bytes_value")
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT_VALUE_FIELD_NUMBER: _ClassVar[int]
    FLOAT_VALUE_FIELD_NUMBER: _ClassVar[int]
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    JSON_VALUE_FIELD_NUMBER: _ClassVar[int]
    BYTES_VALUE_FIELD_NUMBER: _ClassVar[int]
    string_value: str
    int_value: int
    float_value: float
    bool_value: bool
    json_value: _struct_pb2.Value
    bytes_value: bytes
    def __init__(self, string_value: _Optional[str] = ..., int_value: _Optional[int] = ..., float_value: _Optional[float] = ..., bool_value: _Optional[bool] = ..., json_value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., bytes_value: _Optional[bytes] = ...) -> None: ...

class Constraints(_message.Message):
    __slots__ = ("min", "max", "choices", "pattern")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    min: float
    max: float
    choices: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Value]
    pattern: str
    def __init__(self, min: _Optional[float] = ..., max: _Optional[float] = ..., choices: _Optional[_Iterable[_Union[_struct_pb2.Value, _Mapping]]] = ..., pattern: _Optional[str] = ...) -> None: ...

class Variable(_message.Message):
    __slots__ = ("name", "type", "value", "constraints", "version", "description", "updated_at", "updated_by")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: VariableType
    value: TypedValue
    constraints: Constraints
    version: int
    description: str
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[VariableType, str]] = ..., value: _Optional[_Union[TypedValue, _Mapping]] = ..., constraints: _Optional[_Union[Constraints, _Mapping]] = ..., version: _Optional[int] = ..., description: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...
