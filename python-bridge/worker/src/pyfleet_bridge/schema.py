"""Parameter schemas from type annotations, and argument checks against them."""

from __future__ import annotations

import collections.abc
import inspect
import json
import types
import typing
from dataclasses import dataclass
from typing import Any

_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean", bytes: "bytes", bytearray: "bytes"}
_ARRAYS = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Iterable)
_OBJECTS = (dict, collections.abc.Mapping)


@dataclass(frozen=True)
class ParamType:
    """What a parameter accepts: a JSON type name, whether null is allowed, and Literal choices."""

    json_type: str
    nullable: bool = False
    choices: tuple[Any, ...] = ()


def annotation_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__qualname__
    return str(annotation).replace("typing.", "")


def param_type(annotation: Any) -> ParamType:
    """The JSON type an annotation maps to; "any" when it cannot be mapped."""
    if annotation is inspect.Parameter.empty or annotation is Any or isinstance(annotation, str):
        return ParamType("any")
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        kinds = {param_type(type(a)).json_type for a in args}
        return ParamType(kinds.pop() if len(kinds) == 1 else "any", choices=args)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        nullable = len(rest) < len(args)
        if len(rest) == 1:
            inner = param_type(rest[0])
            return ParamType(inner.json_type, nullable, inner.choices)
        return ParamType("any", nullable)
    if origin is typing.Annotated:
        return param_type(args[0])
    base = origin or annotation
    if base in _SIMPLE:
        return ParamType(_SIMPLE[base])
    if isinstance(base, type):
        if issubclass(base, _OBJECTS) or typing.is_typeddict(base):
            return ParamType("object")
        if issubclass(base, (str, bytes)):
            return ParamType(_SIMPLE.get(base, "string"))
        if issubclass(base, _ARRAYS):
            return ParamType("array")
    return ParamType("any")


_NAMES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean",
          "array": "an array", "object": "an object", "bytes": "bytes (pass it in binary_args)"}


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "bytes"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def check_value(tool: str, name: str, expected: ParamType, value: Any) -> Any:
    """Returns the value to pass (ints widened to float for number parameters) or raises ValueError naming the argument."""
    if value is None and expected.nullable:
        return value
    if expected.choices and value not in expected.choices:
        allowed = ", ".join(json.dumps(c) for c in expected.choices)
        raise ValueError(f'argument "{name}" of tool "{tool}" must be one of {allowed}, got {json.dumps(value, default=str)}')
    kind = _json_kind(value)
    t = expected.json_type
    ok = (t == "any" or kind == t or (t == "number" and kind == "integer")
          or (t == "integer" and kind == "number" and float(value).is_integer()))
    if not ok:
        raise ValueError(f'argument "{name}" of tool "{tool}" must be {_NAMES.get(t, t)}, got {kind}')
    if t == "number" and kind == "integer":
        return float(value)
    if t == "integer" and kind == "number":
        return int(value)
    return value
