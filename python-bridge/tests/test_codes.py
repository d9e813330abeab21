"""The Python status table matches grpc's, and every code has its exception class."""

from __future__ import annotations

import grpc

from pyfleet import errors
from pyfleet._codes import STATUS_CODES, code_name


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
