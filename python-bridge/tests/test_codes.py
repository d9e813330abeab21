"""The Python status table matches grpc's, and every code has its exception class."""

from __future__ import annotations

import grpc

from pyfleet import errors
from pyfleet._codes import STATUS_CODES, code_name
from pyfleet_bridge import _codes as bridge_codes


def test_the_table_is_grpcs_status_numbers_by_name() -> None:
    expected = {c.name.lower(): c.value[0] for c in grpc.StatusCode if c is not grpc.StatusCode.OK}
    expected["canceled"] = expected.pop("cancelled")  # pyfleet spells it as Connect and the server do
    assert STATUS_CODES == expected


def test_every_code_has_its_exception_class_and_back() -> None:
    for name, number in STATUS_CODES.items():
        error = errors.from_status(number, "m")
        assert (error.code, error.status, type(error).__name__ != "PyfleetError") == (name, number, True)
    assert isinstance(errors.from_status(99, "m"), errors.Unknown)
    assert code_name(0) == "unknown"


def test_the_worker_runtime_has_the_same_table() -> None:
    assert bridge_codes.STATUS_CODES == STATUS_CODES
    assert [bridge_codes.code_name(n) for n in (0, 5, 14, 99)] == ["unknown", "not_found", "unavailable", "unknown"]
