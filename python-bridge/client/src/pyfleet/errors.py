"""Exceptions raised by the pyfleet client, one class per status code."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from pyfleet._codes import STATUS_CODES, code_name


@dataclass(frozen=True)
class ToolError:
    """A Python exception raised by a tool in a worker."""

    type: str
    message: str
    traceback: str
    tool: str
    worker_id: str


class PyfleetError(Exception):
    """Base class: `code` is the status name ("not_found", ...), `tool_error` the worker's exception, if any."""

    code = "unknown"

    def __init__(self, message: str, tool_error: ToolError | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.tool_error = tool_error

    @property
    def status(self) -> int:
        """The gRPC status number of `code`."""
        return STATUS_CODES[self.code]

    def __str__(self) -> str:
        if self.tool_error and self.tool_error.traceback:
            return f"{self.message}\n\nRemote traceback (worker {self.tool_error.worker_id}):\n{self.tool_error.traceback}"
        return self.message


class Cancelled(PyfleetError):
    code = "canceled"


class Unknown(PyfleetError):
    """Most often: the Python tool raised (see `tool_error`)."""

    code = "unknown"


class InvalidArgument(PyfleetError):
    code = "invalid_argument"


class DeadlineExceeded(PyfleetError):
    code = "deadline_exceeded"


class NotFound(PyfleetError):
    code = "not_found"


class AlreadyExists(PyfleetError):
    code = "already_exists"


class PermissionDenied(PyfleetError):
    code = "permission_denied"


class ResourceExhausted(PyfleetError):
    code = "resource_exhausted"


class FailedPrecondition(PyfleetError):
    code = "failed_precondition"


class Aborted(PyfleetError):
    """E.g. a stale expected_version: read the variable again and retry."""

    code = "aborted"


class OutOfRange(PyfleetError):
    code = "out_of_range"


class Unimplemented(PyfleetError):
    code = "unimplemented"


class Internal(PyfleetError):
    code = "internal"


class Unavailable(PyfleetError):
    code = "unavailable"


class DataLoss(PyfleetError):
    code = "data_loss"


class Unauthenticated(PyfleetError):
    code = "unauthenticated"


_BY_NAME: dict[str, type[PyfleetError]] = {cls.code: cls for cls in (
    Cancelled, Unknown, InvalidArgument, DeadlineExceeded, NotFound, AlreadyExists, PermissionDenied, ResourceExhausted,
    FailedPrecondition, Aborted, OutOfRange, Unimplemented, Internal, Unavailable, DataLoss, Unauthenticated,
)}


def _tool_error(call: grpc.Call) -> ToolError | None:
    from grpc_status import rpc_status  # imported lazily: only errors need it

    from pyfleet.pool.v1 import error_pb2

    try:
        status = rpc_status.from_call(call)
    except ValueError:
        return None
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_pb2.ToolError.DESCRIPTOR):
            found = error_pb2.ToolError()
            detail.Unpack(found)
            return ToolError(found.type, found.message, found.traceback, found.tool, found.worker_id)
    return None


def from_rpc_error(error: grpc.RpcError) -> PyfleetError:
    """The PyfleetError subclass for a failed gRPC call, with the worker's traceback when a tool raised."""
    call = error if isinstance(error, grpc.Call) else None
    code = call.code() if call else grpc.StatusCode.UNKNOWN
    message = (call.details() if call else str(error)) or code.name.lower()
    return from_status(code.value[0], message, _tool_error(call) if call else None)


def from_status(number: int, message: str, tool_error: ToolError | None = None) -> PyfleetError:
    """The PyfleetError for a status number carried in a message (ExecuteMany results)."""
    return _BY_NAME[code_name(number)](message, tool_error)
