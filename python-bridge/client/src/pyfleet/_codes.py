"""pyfleet's status vocabulary: each code's name and its gRPC status number.

The client's table. It mirrors STATUS_CODES in sdk-ts/src/errors.ts, which the
server shares; the worker runtime (pyfleet_bridge._codes) has the same table,
since a worker does not install the client. Tests compare all three.
"""

from __future__ import annotations

STATUS_CODES: dict[str, int] = {
    "canceled": 1,
    "unknown": 2,
    "invalid_argument": 3,
    "deadline_exceeded": 4,
    "not_found": 5,
    "already_exists": 6,
    "permission_denied": 7,
    "resource_exhausted": 8,
    "failed_precondition": 9,
    "aborted": 10,
    "out_of_range": 11,
    "unimplemented": 12,
    "internal": 13,
    "unavailable": 14,
    "data_loss": 15,
    "unauthenticated": 16,
}

_NAMES = {number: name for name, number in STATUS_CODES.items()}


def code_name(number: int) -> str:
    """The name of a gRPC status number; "unknown" for a number outside the table."""
    return _NAMES.get(number, "unknown")
