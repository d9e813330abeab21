"""Conversions between Python values and the worker link's value messages (ctx variables).

The client has its own copy (pyfleet._values): a worker does not install the client."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2

from pyfleet_bridge._proto.pool.v1 import variable_pb2

_TYPES = {
    "string": variable_pb2.VARIABLE_TYPE_STRING,
    "int": variable_pb2.VARIABLE_TYPE_INT,
    "float": variable_pb2.VARIABLE_TYPE_FLOAT,
    "bool": variable_pb2.VARIABLE_TYPE_BOOL,
    "json": variable_pb2.VARIABLE_TYPE_JSON,
    "bytes": variable_pb2.VARIABLE_TYPE_BYTES,
}


def to_value(obj: Any) -> struct_pb2.Value:
    v = struct_pb2.Value()
    json_format.ParseDict(obj, v)
    return v


def from_value(v: struct_pb2.Value) -> Any:
    return json_format.MessageToDict(v)


def variable_type(name: str | None) -> int:
    if name is None:
        return variable_pb2.VARIABLE_TYPE_UNSPECIFIED
    if name not in _TYPES:
        raise ValueError(f"type must be one of {', '.join(_TYPES)} (got {name!r})")
    return _TYPES[name]


def to_typed(value: Any, type: str | None = None) -> variable_pb2.TypedValue:
    """bool, int, float, str and bytes map to their own kinds; anything else (or type="json") is JSON."""
    if type == "json":
        return variable_pb2.TypedValue(json_value=to_value(value))
    if isinstance(value, bool):
        return variable_pb2.TypedValue(bool_value=value)
    if isinstance(value, int):
        if type == "float":
            return variable_pb2.TypedValue(float_value=float(value))
        return variable_pb2.TypedValue(int_value=value)
    if isinstance(value, float):
        return variable_pb2.TypedValue(float_value=value)
    if isinstance(value, str):
        return variable_pb2.TypedValue(string_value=value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return variable_pb2.TypedValue(bytes_value=bytes(value))
    return variable_pb2.TypedValue(json_value=to_value(value))


def from_typed(value: variable_pb2.TypedValue) -> Any:
    kind = value.WhichOneof("kind")
    if kind is None:
        return None
    if kind == "json_value":
        return from_value(value.json_value)
    return getattr(value, kind)
