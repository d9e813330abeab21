"""JSON text for the per-call path: the json module's own C encoder and
scanner, called without the setup that json.JSONEncoder.encode and
json.JSONDecoder.decode repeat on every call (building an encoder and a
closure, two regular-expression matches). Same text, values and errors
(tests compare them); where the C parts are missing, the json module itself."""

from __future__ import annotations

import json
from json.decoder import JSONDecoder
from json.encoder import JSONEncoder, encode_basestring
from json.scanner import make_scanner
from typing import Any

_encoder = JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_decoder = JSONDecoder()
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_scan_once = make_scanner(_decoder)


def dumps(value: Any) -> str:
    """Compact JSON text (no NaN or infinities, non-ASCII kept); TypeError or ValueError for what JSON cannot hold."""
    if isinstance(value, str):
        return encode_basestring(value)
    if _c_make_encoder is None:
        return _encoder.encode(value)
    # A fresh `markers` dict per call, as JSONEncoder.encode makes: it tracks containers for cycle detection.
    return "".join(_c_make_encoder({}, _encoder.default, encode_basestring, None, ":", ",", False, False, False)(value, 0))


def loads(text: str) -> Any:
    """The value of JSON text; json.JSONDecodeError (a ValueError) for anything else."""
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:
        end = -1
    if end != len(text):
        # Whitespace around the value, or not JSON: the full decoder accepts the one and explains the other.
        return _decoder.decode(text)
    return value
