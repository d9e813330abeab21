"""The pyfleet Python client against a real server (grpcio with the generated stubs underneath)."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone

import pytest

from pyfleet import AsyncClient, Client
from pyfleet.errors import Aborted, DeadlineExceeded, InvalidArgument, NotFound, Unknown
from pyfleet.pool.v1 import pool_pb2


def test_execute_and_call_info(server) -> None:
    with Client(server.url) as client:
        assert client.execute("add", {"a": 1, "b": 2}) == 3
        assert client.execute("echo", {"nested": {"x": [1, "two", None]}}) == {"nested": {"x": [1, "two", None]}}
        result = client.call("pid")
        assert result.value == result.info.worker_pid and result.info.attempts == 1
        assert {t.name for t in client.tools()} >= {"echo", "count"}
        assert [p.name for p in client.list_pools()] == ["default"]
        # The server states its version in a header and in ListPools.
        assert client.server_version() == server.version
        assert client.pools.ListPools(pool_pb2.ListPoolsRequest(), timeout=10).server_version == server.version


def test_errors_map_to_exceptions_with_the_worker_traceback(server) -> None:
    with Client(server.url) as client:
        with pytest.raises(Unknown) as raised:
            client.execute("fail", {"message": "kaboom"})
        error = raised.value
        assert error.tool_error is not None
        assert (error.tool_error.type, error.tool_error.message, error.tool_error.tool) == ("ValueError", "kaboom", "fail")
        assert "Traceback" in error.tool_error.traceback and "Remote traceback" in str(error)
        with pytest.raises(NotFound, match="known tools"):
            client.execute("ech0")
        with pytest.raises(InvalidArgument, match='"a"'):
            client.execute("add", {"a": "x", "b": 1})
        with pytest.raises(DeadlineExceeded):
            client.execute("sleep", {"seconds": 30}, timeout=0.3)


def test_stream_and_breaking_out_cancels(server) -> None:
    with Client(server.url) as client:
        assert list(client.stream("count", {"n": 5})) == [{"i": i} for i in range(5)]
        before = client.execute("pid")
        for i, chunk in enumerate(client.stream("count", {"n": 10_000_000})):
            if i == 3:
                break
        # Two workers: both answer quickly only if the generator really stopped.
        pids = {client.execute("pid", timeout=5) for _ in range(4)}
        assert before in pids


def test_session_context_manager_variables_and_watch(server) -> None:
    with Client(server.url) as client:
        with client.session(affinity="strict_queue", ttl=90, labels={"team": "a"}) as session:
            created = session.info
            assert (created.id, created.pool, created.affinity, created.ttl, created.labels) == (session.id, "default", "strict_queue", 90.0, {"team": "a"})
            assert (created.calls, created.errors, created.repins, created.variables, created.state_lost_at) == (0, 0, 0, 0, None)
            assert created.created_at is not None and created.expires_at is not None
            assert abs(created.created_at - datetime.now(timezone.utc)) < timedelta(seconds=30)
            assert created.expires_at - created.created_at == timedelta(seconds=90)
            assert [session.execute("counter") for _ in range(3)] == [1, 2, 3]
            refreshed = session.refresh()
            assert refreshed is session.info and (refreshed.calls, refreshed.errors, refreshed.state_lost_at) == (3, 0, None)
            assert refreshed.worker_id != ""
            v = session.set("limit", 5)
            assert (v.type, v.version) == ("int", 1)
            assert session.execute("getvar", {"name": "limit"}) == 5
            with pytest.raises(Aborted):
                session.set("limit", 6, expected_version=9)
            session.set("cfg", {"a": [1, 2]})
            assert session.get("cfg") == {"a": [1, 2]}
            assert [v.name for v in session.variables()] == ["cfg", "limit"]

            events = []
            watching = threading.Event()

            def watch() -> None:
                for event in session.watch(["n"], include_initial=True):
                    events.append(event)
                    watching.set()
                    if event.variable.value == 42:
                        return

            session.set("n", 1)
            thread = threading.Thread(target=watch)
            thread.start()
            assert watching.wait(10)
            session.execute("setvar", {"name": "n", "value": 42})
            thread.join(10)
            assert [e.variable.value for e in events] == [1, 42]
            assert events[-1].variable.updated_by == "tool:setvar"
            sid = session.id
        # Leaving the block deleted the session.
        with pytest.raises(NotFound):
            client.execute("counter", session=sid)


def test_execute_many_pipelines_with_per_call_errors(server) -> None:
    with Client(server.url) as client:
        requests = [{"id": f"r{i}", "tool": "fail", "args": {"message": f"bad {i}"}} if i % 5 == 0
                    else {"id": f"r{i}", "tool": "echo", "args": {"i": i, "message": "x"}} for i in range(200)]
        results = {r.id: r for r in client.execute_many(requests)}
        assert len(results) == 200
        assert results["r1"].ok and results["r1"].value == {"i": 1, "message": "x"}
        assert not results["r5"].ok and isinstance(results["r5"].error, Unknown)
        assert results["r5"].error.tool_error is not None and results["r5"].error.tool_error.type == "ValueError"
        # A list travels in batches of calls; any other iterable one call per message.
        many = [{"tool": "add", "args": {"a": i, "b": 1}} for i in range(600)]
        assert sorted(r.value for r in client.execute_many(many)) == list(range(1, 601))
        assert sorted(r.value for r in client.execute_many(r for r in many[:20])) == list(range(1, 21))


def test_async_client(server) -> None:
    async def main() -> None:
        async with AsyncClient(server.url) as client:
            assert await client.execute("add", {"a": 2, "b": 2}) == 4
            chunks = [c async for c in client.stream("agen_count", {"n": 3})]
            assert chunks == [{"i": 0}, {"i": 1}, {"i": 2}]
            async with await client.session() as session:
                assert await session.execute("counter") == 1
                await session.set("x", "y")
                assert await session.get("x") == "y"
                info = await session.refresh()
                assert (info is session.info, info.affinity, info.calls, info.variables) == (True, "hint", 1, 1)
            with pytest.raises(Unknown):
                await client.execute("fail", {"message": "async boom"})

    asyncio.run(main())


def _types(value: object) -> object:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value).__name__


def test_numbers_keep_their_type_both_ways(server) -> None:
    args = {"i": 5, "f": 5.0, "g": 2.5, "big": 2**60, "nested": [1, 1.0]}
    with Client(server.url) as client:
        # echo returns its arguments: they reached Python with their types and came back with them.
        for value in (client.execute("echo", args), client.call("echo", args).value, next(iter(client.stream("echo", args)))):
            assert value == args
            assert _types(value) == {"i": "int", "f": "float", "g": "float", "big": "int", "nested": ["int", "float"]}
        assert type(client.execute("pid")) is int
        assert type(client.execute("add", {"a": 2, "b": 3})) is float  # its parameters are annotated float
        assert [type(c["i"]) for c in client.stream("count", {"n": 2})] == [int, int]

    async def main() -> None:
        async with AsyncClient(server.url) as client:
            value = await client.execute("echo", args)
            assert _types(value) == {"i": "int", "f": "float", "g": "float", "big": "int", "nested": ["int", "float"]}
            assert [type(c["i"]) async for c in client.stream("agen_count", {"n": 2})] == [int, int]

    asyncio.run(main())


def test_compute_handles_wait_and_terminate_sync_and_async(server) -> None:
    with Client(server.url) as client:
        seen: list[str] = []
        with client.spawn(gpu="a4000") as compute:
            assert compute.wait_until_ready(on_status=lambda c: seen.append(c.status), timeout=30).status == "ready"
        assert seen[-1] == "ready" and compute.compute.status in ("terminating", "terminated")

    async def main() -> None:
        async with AsyncClient(server.url) as client:
            async with await client.spawn(gpu="a4000") as compute:
                assert (await compute.wait_until_ready(timeout=30)).status == "ready"
                assert (await client.get_compute(compute.id)).status == "ready"
            assert compute.compute.status in ("terminating", "terminated")

    asyncio.run(main())


def test_stats_sync_and_async(server_with_config) -> None:
    server = server_with_config("pools:\n  - name: stats\n    size: 2\n")
    with Client(server.url) as client:
        for n in range(3):
            assert client.execute("add", {"a": n, "b": 1}, pool="stats") == n + 1
        with pytest.raises(Unknown):
            client.execute("fail", {"message": "counted"}, pool="stats")
        session = client.session(pool="stats", id="counted")
        stats = client.stats("stats")
        assert (stats.pool, stats.calls_total, stats.errors_by_code, stats.sessions, stats.workers_desired) == (
            "stats", 4, {"unknown": 1}, 1, 2)
        assert (stats.workers_starting, stats.workers_remote, stats.queue_depth, stats.in_flight, stats.circuit_open) == (0, 0, 0, 0, False)
        session.close()

    async def main() -> tuple[str, int, int]:
        async with AsyncClient(server.url) as aclient:
            stats = await aclient.stats("stats")
            return stats.pool, stats.calls_total, stats.workers_desired

    assert asyncio.run(main()) == ("stats", 4, 2)


def test_logs_sync_and_async(server_with_config) -> None:
    server = server_with_config("pools:\n  - name: chat\n    adapter: pyfleet_bridge.testing.chatty:ChattyAdapter\n    size: 1\n")
    with Client(server.url) as client:
        session = client.session(pool="chat", id="py")
        assert client.execute("say_async", {"text": "py"}, pool="chat", session=session) == "py"
        records = list(client.logs(session=session))
        assert [(r.level, r.source, r.logger, r.message, r.tool, r.session_id, r.pool, r.dropped_before) for r in records] == [
            ("info", "stdout", "stdout", "async: py", "say_async", "py", "chat", 0),
            ("warning", "logging", "chatty", "async warn: py", "say_async", "py", "chat", 0),
        ]
        assert records[1].seq == records[0].seq + 1 and records[0].request_id != ""
        assert [r.message for r in client.logs(pool="chat", level="warning", tail=1)] == ["async warn: py"]
        with pytest.raises(ValueError, match="level must be one of"):
            list(client.logs(level="loud"))
        with pytest.raises(NotFound):
            list(client.logs(pool="nope"))

    async def main() -> list[str]:
        async with AsyncClient(server.url) as aclient:
            return [r.message async for r in aclient.logs(session="py", level="warning")]

    assert asyncio.run(main()) == ["async warn: py"]
