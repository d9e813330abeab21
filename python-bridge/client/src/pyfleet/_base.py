"""What the sync and async clients share: configuration and the requests they send.

`Client` and `AsyncClient` are thin shells over this (as in httpx): each builds
its channel and awaits or not; every request is built here, once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlparse

from google.protobuf import duration_pb2, json_format

from pyfleet import _values as values
from pyfleet.compute.v1 import compute_pb2
from pyfleet.pool.v1 import pool_pb2

#: Chunks the server may pack in one stream message (ExecuteStreamRequest.max_chunks_per_message).
CHUNKS_PER_MESSAGE = 256
#: Calls sent in one ExecuteMany message (from a list), and answers the server may pack in one.
CALLS_PER_MESSAGE = 256

#: The response header in which the server states its version.
VERSION_HEADER = "pyfleet-version"
#: The first server version with ExecuteMany's batch form (calls, max_answers_per_message, JSON text).
BATCH_SINCE = (0, 1, 0)


_LOG_LEVELS = {
    "debug": pool_pb2.LOG_LEVEL_DEBUG,
    "info": pool_pb2.LOG_LEVEL_INFO,
    "warning": pool_pb2.LOG_LEVEL_WARNING,
    "error": pool_pb2.LOG_LEVEL_ERROR,
}


def target(url: str) -> tuple[str, bool]:
    """grpcio's target ("host:port") and whether to use TLS."""
    if "://" not in url:
        return url, False
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"url must start with http:// or https:// (got {url!r})")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{parsed.hostname}:{port}", parsed.scheme == "https"


def duration(seconds: float | None) -> duration_pb2.Duration | None:
    if seconds is None:
        return None
    d = duration_pb2.Duration()
    d.FromMilliseconds(int(seconds * 1000))
    return d


def session_id(session: Any) -> str:
    """A session given as its id or as a session object."""
    return session if isinstance(session, str) else session.id if session is not None else ""


def supports_batch_form(version: str | None) -> bool:
    """Whether a server version (from VERSION_HEADER) has ExecuteMany's batch form; none means an older server."""
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version or "")
    return match is not None and tuple(int(part) for part in match.groups()) >= BATCH_SINCE


def header(metadata: Iterable[tuple[str, Any]] | None, name: str) -> str:
    """A response header's value from grpcio metadata ("" when absent)."""
    return next((str(value) for key, value in metadata or () if key == name), "")


def _args_json(args: dict[str, Any] | None) -> str:
    # JSON text, not a Struct: a Struct has only doubles, so 5 would reach Python as 5.0.
    return json.dumps(args or {})


class BaseClient:
    """Configuration shared by both clients. `timeout` (seconds) applies to every call,
    streams and watches included, unless a call passes its own."""

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float | None = None,
                 options: list[tuple[str, Any]] | None = None) -> None:
        self._target, self._tls = target(url)
        self._options = options
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self.timeout = timeout
        # The server's version, once a ListPools has stated it (see server_version()).
        self._server_version: str | None = None

    def _call_options(self, timeout: float | None) -> dict[str, Any]:
        return {"timeout": timeout if timeout is not None else self.timeout, "metadata": self._metadata}

    # ---- requests ----

    @staticmethod
    def _execute_request(tool: str, args: dict[str, Any] | None, pool: str, session: Any, idempotent: bool,
                         binary_args: dict[str, bytes] | None) -> pool_pb2.ExecuteRequest:
        return pool_pb2.ExecuteRequest(pool=pool, tool=tool, args_json=_args_json(args), result_as_json=True,
                                       idempotent=idempotent, session_id=session_id(session), binary_args=binary_args or {})

    @staticmethod
    def _stream_request(tool: str, args: dict[str, Any] | None, pool: str, session: Any,
                        binary_args: dict[str, bytes] | None) -> pool_pb2.ExecuteStreamRequest:
        return pool_pb2.ExecuteStreamRequest(pool=pool, tool=tool, args_json=_args_json(args), result_as_json=True,
                                             session_id=session_id(session), binary_args=binary_args or {},
                                             max_chunks_per_message=CHUNKS_PER_MESSAGE)

    @staticmethod
    def _many_call(r: dict[str, Any], i: int, pool: str, batched: bool) -> pool_pb2.ExecuteManyRequest:
        call = pool_pb2.ExecuteManyRequest(
            id=str(r.get("id", i)), pool=r.get("pool", pool), tool=r["tool"], session_id=session_id(r.get("session")),
            idempotent=bool(r.get("idempotent", False)), timeout=duration(r.get("timeout")))
        if batched:
            call.args_json = json.dumps(r["args"]) if r.get("args") is not None else ""
            call.result_as_json = True
        else:
            # A server older than the batch form reads a Struct and answers with a Value.
            call.args.CopyFrom(values.to_struct(r.get("args")))
        return call

    @classmethod
    def _many_message(cls, r: dict[str, Any], i: int, pool: str, batched: bool) -> pool_pb2.ExecuteManyRequest:
        """One call in a message of its own, in the form the server reads."""
        message = cls._many_call(r, i, pool, batched)
        if batched:
            message.max_answers_per_message = CALLS_PER_MESSAGE
        return message

    @classmethod
    def _many_messages(cls, requests: Iterable[dict[str, Any]], pool: str, batched: bool) -> Iterator[pool_pb2.ExecuteManyRequest]:
        """With the batch form, a list (or other sequence) travels in messages of up to CALLS_PER_MESSAGE
        calls; any other iterable, or any call to an older server, one call per message, as it comes
        (an iterable may be waiting on results)."""
        if batched and isinstance(requests, Sequence):
            for at in range(0, len(requests), CALLS_PER_MESSAGE):
                calls = [cls._many_call(r, at + k, pool, True) for k, r in enumerate(requests[at:at + CALLS_PER_MESSAGE])]
                yield pool_pb2.ExecuteManyRequest(calls=calls, max_answers_per_message=CALLS_PER_MESSAGE)
            return
        for i, r in enumerate(requests):
            yield cls._many_message(r, i, pool, batched)

    @staticmethod
    def _session_request(pool: str, affinity: str, ttl: float | None, id: str,
                         labels: dict[str, str] | None) -> pool_pb2.CreateSessionRequest:
        if affinity not in values.AFFINITIES:
            raise ValueError(f"affinity must be one of {', '.join(values.AFFINITIES)} (got {affinity!r})")
        return pool_pb2.CreateSessionRequest(pool=pool, affinity=values.AFFINITIES[affinity], ttl=duration(ttl), session_id=id,
                                             labels=labels or {})

    @staticmethod
    def _set_request(session: str, name: str, value: Any, type: str | None, expected_version: int | None,
                     description: str) -> pool_pb2.SetVariableRequest:
        req = pool_pb2.SetVariableRequest(session_id=session, name=name, value=values.to_typed(value, type),
                                          type=values.variable_type(type), description=description)
        if expected_version is not None:
            req.expected_version = expected_version
        return req

    @staticmethod
    def _delete_request(session: str, name: str, expected_version: int | None) -> pool_pb2.DeleteVariableRequest:
        req = pool_pb2.DeleteVariableRequest(session_id=session, name=name)
        if expected_version is not None:
            req.expected_version = expected_version
        return req

    @staticmethod
    def _logs_request(pool: str, worker: str, session: Any, level: str | None, follow: bool, tail: int | None,
                      request_id: str) -> pool_pb2.WatchLogsRequest:
        if level is not None and level.lower() not in _LOG_LEVELS:
            raise ValueError(f"level must be one of {', '.join(_LOG_LEVELS)} (got {level!r})")
        req = pool_pb2.WatchLogsRequest(pool=pool, worker_id=worker, session_id=session_id(session), follow=follow,
                                        request_id=request_id,
                                        min_level=_LOG_LEVELS[level.lower()] if level else pool_pb2.LOG_LEVEL_UNSPECIFIED)
        if tail is not None:
            req.tail = tail
        return req

    @staticmethod
    def _compute_logs_request(id: str, follow: bool, tail: int | None) -> compute_pb2.WatchComputeLogsRequest:
        req = compute_pb2.WatchComputeLogsRequest(compute_id=id, follow=follow)
        if tail is not None:
            req.tail = tail
        return req

    @staticmethod
    def _spawn_request(spec: dict[str, Any] | None, fields: dict[str, Any]) -> compute_pb2.SpawnComputeRequest:
        proto = compute_pb2.ComputeSpec()
        try:
            json_format.ParseDict({**(spec or {}), **fields}, proto)
        except json_format.ParseError as error:
            raise ValueError(f"bad compute spec: {error}") from None
        return compute_pb2.SpawnComputeRequest(spec=proto)

    @staticmethod
    def _run_job_request(endpoint: str, input: Any, provider: str, timeout: float | None,
                         client_request_id: str) -> compute_pb2.RunJobRequest:
        return compute_pb2.RunJobRequest(provider=provider, endpoint=endpoint, input=values.to_value(input),
                                         timeout=duration(timeout), client_request_id=client_request_id)
