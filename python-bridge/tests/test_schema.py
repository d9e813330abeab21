"""Tool specs from annotations, and argument checks (no processes)."""

from __future__ import annotations

from typing import Any, Literal, Optional

import pytest

from pyfleet_bridge import Adapter, Context, tool
from pyfleet_bridge.adapter import collect_tools, tool_spec
from pyfleet_bridge.schema import check_value, param_type


class Example(Adapter):
    @tool(idempotent=True)
    def predict(self, ctx: Context, text: str, top_k: int = 3, mode: Literal["fast", "exact"] = "fast",
                weights: Optional[list[float]] = None) -> list[dict[str, Any]]:
        """Scores a text.

        More detail that is not part of the description."""
        return []

    @tool(name="renamed")
    async def stream(self, n: int):  # type: ignore[no-untyped-def]
        yield n

    def not_a_tool(self) -> None:
        pass


def test_specs_come_from_annotations_and_docstrings() -> None:
    tools = collect_tools(Example)
    assert set(tools) == {"predict", "renamed"}
    predict = tool_spec(tools["predict"])
    assert predict.description == "Scores a text."
    assert predict.idempotent and not predict.streaming
    params = {p.name: p for p in predict.parameters}
    assert list(params) == ["text", "top_k", "mode", "weights"]
    assert (params["text"].type, params["text"].required) == ("string", True)
    assert (params["top_k"].type, params["top_k"].required, params["top_k"].default_value.number_value) == ("integer", False, 3)
    assert params["mode"].type == "string" and [c.string_value for c in params["mode"].choices] == ["fast", "exact"]
    assert params["weights"].type == "array"
    renamed = tool_spec(tools["renamed"])
    assert renamed.streaming and tools["renamed"].is_async


@pytest.mark.parametrize(("annotation", "expected"), [
    (str, "string"), (int, "integer"), (float, "number"), (bool, "boolean"), (bytes, "bytes"),
    (list[int], "array"), (dict[str, int], "object"), (Optional[int], "integer"), (int | str, "any"), (Any, "any"),
])
def test_annotation_types(annotation: Any, expected: str) -> None:
    assert param_type(annotation).json_type == expected


def test_argument_checks_name_the_argument() -> None:
    with pytest.raises(ValueError, match='argument "a" of tool "add" must be a number, got string'):
        check_value("add", "a", param_type(float), "x")
    assert check_value("add", "a", param_type(float), 2) == 2.0
    assert check_value("f", "x", param_type(Optional[int]), None) is None
    with pytest.raises(ValueError, match="must be one of"):
        check_value("f", "m", param_type(Literal["a", "b"]), "c")
    with pytest.raises(ValueError, match="must be a boolean"):
        check_value("f", "flag", param_type(bool), 1)


def test_a_class_that_is_not_an_adapter_is_refused() -> None:
    with pytest.raises(TypeError, match="not a subclass"):
        collect_tools(object)


def test_hand_encoded_result_frames_match_protobuf() -> None:
    import struct

    from pyfleet_bridge._proto.worker.v1 import worker_pb2 as W
    from pyfleet_bridge.wire import result_frame

    for call_id, data, raw in [(1, b'{"x":1}', False), (300, b"", False), (2**32 - 1, b"\x00" * 200, True)]:
        payload = W.Payload(raw=data) if raw else W.Payload(json=data)
        body = W.WorkerFrame(result=W.Result(id=call_id, value=payload)).SerializeToString()
        assert result_frame(call_id, data, raw) == struct.pack(">I", len(body)) + body


def test_hand_encoded_chunk_frames_match_protobuf() -> None:
    import struct

    from pyfleet_bridge._proto.worker.v1 import worker_pb2 as W
    from pyfleet_bridge.wire import chunk_frame, split_frames

    for call_id, items in [(1, [(b'{"i":0}', False)]), (70000, [(b"", False), (b"\x01" * 300, True), (b"[1]", False)]), (5, [])]:
        payloads = [W.Payload(raw=d) if raw else W.Payload(json=d) for d, raw in items]
        body = W.WorkerFrame(chunk=W.Chunk(id=call_id, items=payloads)).SerializeToString()
        frame = chunk_frame(call_id, items)
        assert frame == struct.pack(">I", len(body)) + body
        assert split_frames(frame + frame) == [body, body]
