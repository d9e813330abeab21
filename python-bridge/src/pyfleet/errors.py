"""Exceptions raised by the pyfleet client, one class per status code."""

from __future__ import annotations

from dataclasses import dataclass

import grpc


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


_BY_STATUS: dict[grpc.StatusCode, type[PyfleetError]] = {
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.UNKNOWN: Unknown,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.ABORTED: Aborted,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRange,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
    grpc.StatusCode.INTERNAL: Internal,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DATA_LOSS: DataLoss,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
}

_BY_NUMBER: dict[int, type[PyfleetError]] = {code.value[0]: cls for code, cls in _BY_STATUS.items()}


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
    cls = _BY_STATUS.get(code, Unknown)
    return cls(message, _tool_error(call) if call else None)


def from_status(number: int, message: str, tool_error: ToolError | None = None) -> PyfleetError:
    """The PyfleetError for a status number carried in a message (ExecuteMany results)."""
    return _BY_NUMBER.get(number, Unknown)(message, tool_error)
