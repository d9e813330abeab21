"""The Adapter base class, the @tool decorator, and tool specs derived from them."""

from __future__ import annotations

import collections.abc
import inspect
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from pyfleet_bridge.schema import ParamType, annotation_text, param_type

F = TypeVar("F", bound=Callable[..., Any])

_TOOL_ATTR = "__pyfleet_tool__"


#: How long a batch waits for more calls once its first arrived, unless `@tool(batch_wait_ms=...)` says.
DEFAULT_BATCH_WAIT_MS = 5.0


@dataclass(frozen=True)
class ToolOptions:
    name: str | None
    idempotent: bool
    description: str | None
    #: 0: not a batch tool.
    batch_size: int = 0
    batch_wait_ms: float = DEFAULT_BATCH_WAIT_MS


@overload
def tool(fn: F) -> F: ...


@overload
def tool(*, name: str | None = None, idempotent: bool = False, description: str | None = None,
         batch_size: int | None = None, batch_wait_ms: float | None = None) -> Callable[[F], F]: ...


def tool(fn: Any = None, *, name: str | None = None, idempotent: bool = False, description: str | None = None,
         batch_size: int | None = None, batch_wait_ms: float | None = None) -> Any:
    """Marks an Adapter method as a tool. `@tool` or `@tool(idempotent=True)`.

    Idempotent tools are retried on another worker when their worker dies mid-call.

    `@tool(batch_size=32, batch_wait_ms=5)` makes a batch tool: callers still
    call it with one item's arguments, and the worker gathers up to
    `batch_size` calls (waiting at most `batch_wait_ms` after the first) into
    one invocation. Each parameter then receives a list, one value per call in
    the batch, and the tool returns a list of as many results, in order; an
    exception instance in that list fails only its own call.
    """
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"@tool(batch_size=...) must be an int of at least 1, got {batch_size!r}")
    if batch_wait_ms is not None:
        if batch_size is None:
            raise ValueError("@tool(batch_wait_ms=...) needs batch_size too: it is how long a batch waits to fill")
        if isinstance(batch_wait_ms, bool) or not isinstance(batch_wait_ms, (int, float)) or not 0 <= batch_wait_ms <= 60_000:
            raise ValueError(f"@tool(batch_wait_ms=...) must be a number of milliseconds from 0 to 60000, got {batch_wait_ms!r}")
    options = ToolOptions(name, idempotent, description, batch_size or 0,
                          float(batch_wait_ms) if batch_wait_ms is not None else DEFAULT_BATCH_WAIT_MS)

    def mark(f: F) -> F:
        setattr(f, _TOOL_ATTR, options)
        return f

    return mark(fn) if fn is not None else mark


class Adapter:
    """Base class of a pool's Python code. Decorate methods with @tool.

    `setup()` runs once in each worker before it takes calls (after the fork, in
    fork mode); `teardown()` runs on graceful shutdown. Module-level imports are
    shared by forked workers; per-worker resources (sockets, threads) belong in
    setup().
    """

    #: Calls a worker runs at once, unless the server's config says otherwise.
    concurrency: int | None = None

    def setup(self) -> None:
        """Called once per worker, before its first call."""

    def teardown(self) -> None:
        """Called once per worker, on graceful shutdown."""


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    annotation: str
    required: bool
    default: Any


@dataclass(frozen=True)
class ToolInfo:
    """A tool as the runtime sees it: the function, how to call it, and its spec."""

    name: str
    attr: str
    description: str
    params: tuple[Param, ...]
    ctx_param: str | None
    accepts_extra: bool
    is_async: bool
    is_generator: bool
    idempotent: bool
    returns: str
    #: A batch tool's most calls per invocation (its parameters take lists); 0 for other tools.
    batch_size: int = 0
    batch_wait_ms: float = DEFAULT_BATCH_WAIT_MS
    #: Derived once, looked up per call: the parameters by name, and the required ones.
    by_name: dict[str, Param] = field(init=False, repr=False, compare=False)
    required: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {p.name: p for p in self.params})
        object.__setattr__(self, "required", tuple(p.name for p in self.params if p.required))


def _is_context(name: str, annotation: Any) -> bool:
    if name == "ctx":
        return True
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return text in ("Context", "pyfleet_bridge.Context")


_LISTS = (list, tuple, collections.abc.Sequence, collections.abc.Iterable)


def _item_annotation(tool_name: str, name: str, annotation: Any) -> Any:
    """What one call passes for a batch tool's parameter: `list[str]` -> `str` (unannotated: anything)."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return annotation
    if isinstance(annotation, str):  # an unresolved forward reference: "list[str]"
        inner = annotation.strip()
        if inner.startswith(("list[", "List[", "Sequence[")) and inner.endswith("]"):
            return inner[inner.index("[") + 1:-1]
        if inner in ("list", "List", "Sequence"):
            return inspect.Parameter.empty
    else:
        origin = typing.get_origin(annotation) or annotation
        args = typing.get_args(annotation)
        if origin in _LISTS:
            return args[0] if args else inspect.Parameter.empty
    raise TypeError(f'batch tool "{tool_name}": parameter "{name}" must be annotated list[...] '
                    f"(it receives one value per call in the batch), got {annotation_text(annotation)}")


def _description(fn: Any, override: str | None) -> str:
    if override is not None:
        return override
    doc = inspect.getdoc(fn) or ""
    return doc.split("\n\n", 1)[0].replace("\n", " ").strip()


def _json_default(value: Any) -> tuple[bool, Any]:
    try:
        json.dumps(value, allow_nan=False)
        return True, value
    except (TypeError, ValueError):
        return False, None


def describe_tool(attr: str, fn: Any, options: ToolOptions) -> ToolInfo:
    signature = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = {}
    params: list[Param] = []
    ctx_param = None
    accepts_extra = False
    for i, (name, p) in enumerate(signature.parameters.items()):
        if i == 0 and name in ("self", "cls"):
            continue
        annotation = hints.get(name, p.annotation)
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            accepts_extra = True
            continue
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if _is_context(name, _item_annotation(options.name or attr, name, annotation) if options.batch_size else annotation):
            ctx_param = name
            continue
        if options.batch_size:
            annotation = _item_annotation(options.name or attr, name, annotation)
        has_default = p.default is not inspect.Parameter.empty
        params.append(Param(name, param_type(annotation), annotation_text(annotation), not has_default,
                            p.default if has_default else None))
    unwrapped = inspect.unwrap(fn)
    is_generator = inspect.isgeneratorfunction(unwrapped) or inspect.isasyncgenfunction(unwrapped)
    if options.batch_size and is_generator:
        raise TypeError(f'batch tool "{options.name or attr}" is a generator; a batch tool returns a list of results (one per call)')
    if options.batch_size and accepts_extra:
        raise TypeError(f'batch tool "{options.name or attr}" takes **kwargs; name its parameters (each receives a list)')
    return ToolInfo(
        name=options.name or attr,
        attr=attr,
        description=_description(fn, options.description),
        params=tuple(params),
        ctx_param=ctx_param,
        accepts_extra=accepts_extra,
        is_async=inspect.iscoroutinefunction(unwrapped) or inspect.isasyncgenfunction(unwrapped),
        is_generator=is_generator,
        idempotent=options.idempotent,
        returns=annotation_text(_returns(options, hints.get("return", signature.return_annotation))),
        batch_size=options.batch_size,
        batch_wait_ms=options.batch_wait_ms,
    )


def _returns(options: ToolOptions, annotation: Any) -> Any:
    """What one call gets back: for a batch tool, an element of the list it returns."""
    if not options.batch_size:
        return annotation
    try:
        return _item_annotation("", "", annotation)
    except TypeError:
        return annotation


def collect_tools(cls: type) -> dict[str, ToolInfo]:
    """The tools of an Adapter class, inherited ones included, by tool name."""
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise TypeError(f"{cls!r} is not a subclass of pyfleet_bridge.Adapter")
    tools: dict[str, ToolInfo] = {}
    for attr in dir(cls):
        fn = getattr(cls, attr, None)
        options = getattr(fn, _TOOL_ATTR, None)
        if isinstance(options, ToolOptions):
            info = describe_tool(attr, fn, options)
            if info.name in tools:
                raise ValueError(f"two tools are named {info.name!r} in {cls.__qualname__}")
            tools[info.name] = info
    return tools


def tool_spec(info: ToolInfo) -> Any:
    """The pyfleet.pool.v1.ToolSpec of a tool."""
    from google.protobuf import struct_pb2

    from pyfleet_bridge._proto.pool.v1 import tool_pb2

    spec = tool_pb2.ToolSpec(
        name=info.name,
        description=info.description,
        streaming=info.is_generator,
        idempotent=info.idempotent,
        accepts_extra_args=info.accepts_extra,
        returns=info.returns,
        batch_size=info.batch_size,
        batch_wait_ms=info.batch_wait_ms if info.batch_size else 0,
    )
    for p in info.params:
        param = spec.parameters.add(name=p.name, type=p.type.json_type, annotation=p.annotation, required=p.required)
        if not p.required:
            ok, value = _json_default(p.default)
            if ok:
                param.default_value.CopyFrom(_to_value(value, struct_pb2))
        for choice in p.type.choices:
            param.choices.append(_to_value(choice, struct_pb2))
    return spec


def _to_value(value: Any, struct_pb2: Any) -> Any:
    from google.protobuf import json_format

    v = struct_pb2.Value()
    json_format.ParseDict(value, v)
    return v


def load_adapter_class(spec: str) -> type[Adapter]:
    """Imports "package.module:Class"."""
    import importlib

    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        raise ValueError(f'adapter must look like "package.module:Class" (got {spec!r})')
    module = importlib.import_module(module_name)
    cls = getattr(module, class_name, None)
    if cls is None:
        raise AttributeError(f"module {module_name!r} has no attribute {class_name!r}")
    collect_tools(cls)  # validates it is an Adapter with well-formed tools
    return typing.cast(type[Adapter], cls)
