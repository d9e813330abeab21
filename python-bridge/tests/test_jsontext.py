import json
import math

import pytest

from pyfleet_bridge import jsontext

COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode

VALUES = [
    {"text": "hello", "n": 1}, {"i": 12345}, [1, 2.5, "x", None, True, False], "plain", "ünï ☃ \"quoted\" \n", 42, -0.0, 1e300,
    None, {}, [], {"nested": {"list": [{"a": [1, {"b": None}]}]}}, {"1": 1, "": ""}, 3.141592653589793, 2**70,
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_writes_what_the_json_module_writes(value: object) -> None:
    assert jsontext.dumps(value) == COMPACT(value)


@pytest.mark.parametrize("value", VALUES)
def test_loads_reads_what_the_json_module_reads(value: object) -> None:
    text = COMPACT(value)
    for form in (text, f"  {text}\n", json.dumps(value, indent=2)):
        assert jsontext.loads(form) == json.loads(form)


def test_dumps_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(ValueError, match="Out of range"):
        jsontext.dumps({"x": math.nan})
    with pytest.raises(TypeError, match="not JSON serializable"):
        jsontext.dumps({"x": object()})
    loop: dict[str, object] = {}
    loop["self"] = loop
    with pytest.raises(ValueError, match="Circular reference"):
        jsontext.dumps(loop)
    # A failed call leaves nothing behind for the next one.
    assert jsontext.dumps({"self": {"ok": 1}}) == '{"self":{"ok":1}}'


@pytest.mark.parametrize("text", ["", " ", "{", '{"a": 1} x', "[1,]", "nul", '{"a" 1}'])
def test_loads_refuses_what_the_json_module_refuses(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as ours:
        jsontext.loads(text)
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(text)
    assert str(ours.value) == str(theirs.value)
