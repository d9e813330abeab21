"""Hand-encoded frames for the hottest paths (a call's result, a stream's
chunks), where building protobuf objects costs more than the call itself.
Equivalent to WorkerFrame(result=Result(id=..., value=Payload(json|raw=...)))
and WorkerFrame(chunk=Chunk(id=..., items=[...])) serialized, which a test
checks."""

from __future__ import annotations

import struct

_HEADER = struct.Struct(">I")
# Tags: (field << 3) | wire type 2 (length-delimited), or 0 (varint).
_WORKER_FRAME_RESULT = b"\x1a"  # WorkerFrame.result = 3
_WORKER_FRAME_CHUNK = b"\x22"  # WorkerFrame.chunk = 4
_CHUNK_ID = b"\x08"  # Chunk.id = 1, varint
_CHUNK_ITEM = b"\x12"  # Chunk.items = 2
_RESULT_ID = b"\x08"  # Result.id = 1, varint
_RESULT_VALUE = b"\x12"  # Result.value = 2
_PAYLOAD_JSON = b"\x0a"  # Payload.json = 1
_PAYLOAD_RAW = b"\x12"  # Payload.raw = 2


_SMALL = tuple(bytes((i,)) for i in range(0x80))


def varint(n: int) -> bytes:
    if n < 0x80:
        return _SMALL[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def result_frame(call_id: int, data: bytes, raw: bool = False) -> bytes:
    """A length-prefixed WorkerFrame carrying a Result."""
    payload = (_PAYLOAD_RAW if raw else _PAYLOAD_JSON) + varint(len(data)) + data
    result = (_RESULT_ID + varint(call_id) if call_id else b"") + _RESULT_VALUE + varint(len(payload)) + payload
    frame = _WORKER_FRAME_RESULT + varint(len(result)) + result
    return _HEADER.pack(len(frame)) + frame


def chunk_frame(call_id: int, items: list[tuple[bytes, bool]]) -> bytes:
    """A length-prefixed WorkerFrame carrying a Chunk: `items` are (data, raw) in order."""
    parts = [_CHUNK_ID + varint(call_id)] if call_id else []
    for data, raw in items:
        payload = (_PAYLOAD_RAW if raw else _PAYLOAD_JSON) + varint(len(data)) + data
        parts.append(_CHUNK_ITEM + varint(len(payload)) + payload)
    chunk = b"".join(parts)
    frame = _WORKER_FRAME_CHUNK + varint(len(chunk)) + chunk
    return _HEADER.pack(len(frame)) + frame


def split_frames(data: bytes) -> list[bytes]:
    """The frame bodies in length-prefixed `data` (whole frames only)."""
    out = []
    offset = 0
    while offset < len(data):
        (size,) = _HEADER.unpack_from(data, offset)
        out.append(data[offset + 4:offset + 4 + size])
        offset += 4 + size
    return out
