"""The clients use ExecuteMany's batch form only with a server that states a version that has it.

A real grpcio server on a loopback port stands in for servers of either age: it states the
version it is given (or none, as servers before 0.1.0) and records what ExecuteMany receives.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from concurrent import futures

import grpc
import pytest

from pyfleet import AsyncClient, Client
from pyfleet._base import supports_batch_form
from pyfleet.pool.v1 import pool_pb2, pool_pb2_grpc


class StatedVersion(pool_pb2_grpc.PoolServiceServicer):
    """ListPools states `version` in the pyfleet-version header; ExecuteMany answers each call with its tool's name."""

    def __init__(self, version: str | None) -> None:
        self.version = version
        self.probes = 0
        self.received: list[pool_pb2.ExecuteManyRequest] = []

    def ListPools(self, request: pool_pb2.ListPoolsRequest, context: grpc.ServicerContext) -> pool_pb2.ListPoolsResponse:
        self.probes += 1
        if self.version:
            context.send_initial_metadata((("pyfleet-version", self.version),))
        return pool_pb2.ListPoolsResponse()

    def ExecuteMany(self, requests: Iterator[pool_pb2.ExecuteManyRequest], context: grpc.ServicerContext) -> Iterator[pool_pb2.ExecuteManyResponse]:
        for message in requests:
            self.received.append(message)
            calls = list(message.calls) or [message]
            answers = [pool_pb2.ExecuteManyResponse(id=c.id, result=self._result(c)) for c in calls]
            if message.calls:
                yield pool_pb2.ExecuteManyResponse(answers=answers)
            else:
                yield from answers

    @staticmethod
    def _result(call: pool_pb2.ExecuteManyRequest) -> pool_pb2.ExecuteResponse:
        if call.result_as_json:
            return pool_pb2.ExecuteResponse(result_json=json.dumps(call.tool))
        result = pool_pb2.ExecuteResponse()
        result.result.string_value = call.tool
        return result


@pytest.fixture
def stated() -> Iterator[tuple[StatedVersion, str, StatedVersion, str]]:
    """Two servers: one stating 0.1.0, one stating nothing; each with its URL."""
    servers, out = [], []
    for version in ("0.1.0", None):
        servicer = StatedVersion(version)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        pool_pb2_grpc.add_PoolServiceServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        out += [servicer, f"http://127.0.0.1:{port}"]
    yield tuple(out)  # type: ignore[misc]
    for server in servers:
        server.stop(None)


REQUESTS = [{"tool": "a", "args": {"x": 1}}, {"tool": "b", "args": {"x": 2}}, {"tool": "c"}]


def _plain(received: list[pool_pb2.ExecuteManyRequest]) -> list[tuple[object, ...]]:
    return [(m.tool, dict(m.args), len(m.calls), m.args_json, m.result_as_json, m.max_answers_per_message) for m in received]


def test_the_batch_form_with_a_server_that_has_it_asking_once(stated) -> None:
    new, new_url, _, _ = stated
    with Client(new_url, timeout=10) as client:
        assert sorted(r.value for r in client.execute_many(REQUESTS)) == ["a", "b", "c"]
        assert [r.value for r in client.execute_many(iter([{"tool": "d"}]))] == ["d"]
        assert client.server_version() == "0.1.0"
    assert [([(c.tool, c.args_json, c.result_as_json) for c in m.calls], m.max_answers_per_message) for m in new.received] == [
        ([("a", '{"x": 1}', True), ("b", '{"x": 2}', True), ("c", "", True)], 256),
        ([], 256),
    ]
    assert (new.received[1].tool, new.received[1].result_as_json) == ("d", True)
    assert new.probes == 1


def test_one_call_per_message_and_a_struct_to_a_server_that_states_no_version(stated) -> None:
    _, _, old, old_url = stated
    with Client(old_url, timeout=10) as client:
        assert [r.value for r in client.execute_many(REQUESTS)] == ["a", "b", "c"]
        assert client.server_version() == ""
    assert _plain(old.received) == [("a", {"x": 1.0}, 0, "", False, 0), ("b", {"x": 2.0}, 0, "", False, 0), ("c", {}, 0, "", False, 0)]


def test_the_async_client_checks_the_same_way(stated) -> None:
    new, new_url, old, old_url = stated

    async def one_by_one() -> AsyncIterator[dict[str, object]]:
        for r in REQUESTS:
            yield r

    async def main() -> None:
        async with AsyncClient(old_url, timeout=10) as client:
            assert [r.value async for r in client.execute_many(one_by_one())] == ["a", "b", "c"]
            assert [r.value async for r in client.execute_many(REQUESTS)] == ["a", "b", "c"]
            assert await client.server_version() == ""
        async with AsyncClient(new_url, timeout=10) as client:
            assert sorted([r.value async for r in client.execute_many(REQUESTS)]) == ["a", "b", "c"]
            assert await client.server_version() == "0.1.0"

    asyncio.run(main())
    assert _plain(old.received) == [("a", {"x": 1.0}, 0, "", False, 0), ("b", {"x": 2.0}, 0, "", False, 0), ("c", {}, 0, "", False, 0)] * 2
    assert [[c.tool for c in m.calls] for m in new.received] == [["a", "b", "c"]]
    assert (old.probes, new.probes) == (1, 1)


def test_reads_versions_the_batch_form_since_0_1_0() -> None:
    versions = ["0.1.0", "0.1.7", "0.2.0", "1.0.0-rc.1", "0.0.9", "", None, "dev"]
    assert [supports_batch_form(v) for v in versions] == [True, True, True, True, False, False, False, False]
