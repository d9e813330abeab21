"""Conversions between Python values and the contract's value messages."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2

from pyfleet.pool.v1 import pool_pb2, variable_pb2

#: Session affinity modes by their names in the clients' parameters and models.
AFFINITIES = {
    "hint": pool_pb2.AFFINITY_HINT,
    "strict_queue": pool_pb2.AFFINITY_STRICT_QUEUE,
    "strict_fail_fast": pool_pb2.AFFINITY_STRICT_FAIL_FAST,
}
_AFFINITY_NAMES = {v: k for k, v in AFFINITIES.items()}

_TYPES = {
    "string": variable_pb2.VARIABLE_TYPE_STRING,
    "int": variable_pb2.VARIABLE_TYPE_INT,
    "float": variable_pb2.VARIABLE_TYPE_FLOAT,
    "bool": variable_pb2.VARIABLE_TYPE_BOOL,
    "json": variable_pb2.VARIABLE_TYPE_JSON,
    "bytes": variable_pb2.VARIABLE_TYPE_BYTES,
}
_TYPE_NAMES = {v: k for k, v in _TYPES.items()}


def affinity_name(affinity: int) -> str:
    """An Affinity's name; UNSPECIFIED is the server's default, hint."""
    return _AFFINITY_NAMES.get(affinity, "hint")


def to_struct(args: dict[str, Any] | None) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    if args:
        s.update(args)
    return s


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


def type_name(t: int) -> str:
    return _TYPE_NAMES.get(t, "json")


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
