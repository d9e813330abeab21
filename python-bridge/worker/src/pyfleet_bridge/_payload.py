"""Values between tools and the link: serializing what a tool returns or yields, decoding what it is given."""

from __future__ import annotations

import json
import os
import traceback
from typing import Any

from pyfleet_bridge import jsontext
from pyfleet_bridge._proto.worker.v1 import worker_pb2


class NotSerializable(Exception):
    pass


_dumps = jsontext.dumps


def serialize(value: Any) -> tuple[bytes, bool]:
    """A return or yielded value as bytes: (raw bytes, True) or (JSON text, False)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), True
    try:
        return _dumps(value).encode(), False
    except (TypeError, ValueError) as e:
        raise NotSerializable(f"value of type {type(value).__qualname__} is neither JSON-serializable nor bytes: {e}") from None
    except RecursionError:
        raise NotSerializable(f"value of type {type(value).__qualname__} is nested too deeply to write as JSON") from None


def decode(payload: worker_pb2.Payload) -> Any:
    kind = payload.WhichOneof("kind")
    if kind == "raw":
        return payload.raw
    if kind == "json":
        return json.loads(payload.json)
    return None


def exception_type(e: BaseException) -> str:
    t = type(e)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def format_traceback(e: BaseException, skip: tuple[str, ...]) -> str:
    """The traceback from the tool's frame inwards: frames of the files in `skip` (the runtime's own) are noise."""
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename in skip:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(e), e, tb))


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
