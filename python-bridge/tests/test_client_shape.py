"""The sync and async clients are one API: the same public methods with the same parameters."""

from __future__ import annotations

import inspect

import pytest

from pyfleet import AsyncClient, AsyncComputeHandle, AsyncSession, Client, ComputeHandle, Session


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(fn) for name, fn in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}


def _annotation(a: object) -> str:
    # Annotations are strings here (PEP 563); the async side names its own session and handle types,
    # and its execute_many also takes an AsyncIterable.
    return " | ".join(sorted(set(str(a).replace("Async", "").split(" | "))))


def _params(sig: inspect.Signature) -> list[tuple[str, object, object, str]]:
    return [(p.name, p.kind, p.default, _annotation(p.annotation)) for p in sig.parameters.values()]


@pytest.mark.parametrize(("sync", "aio"), [(Client, AsyncClient), (Session, AsyncSession), (ComputeHandle, AsyncComputeHandle)])
def test_sync_and_async_expose_the_same_methods_with_the_same_signatures(sync: type, aio: type) -> None:
    s, a = _public(sync), _public(aio)
    assert sorted(s) == sorted(a)
    for name in s:
        assert _params(s[name]) == _params(a[name]), name
    # Every async method is awaitable or an async iterator (AsyncSession.stream hands back the client's).
    plain = [n for n, fn in inspect.getmembers(aio, inspect.isfunction)
             if not n.startswith("_") and not (inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn))]
    assert plain == (["stream"] if aio is AsyncSession else [])
    assert _params(inspect.signature(sync.__init__))[1:] == _params(inspect.signature(aio.__init__))[1:]

def test_spawn_returns_a_handle_on_both() -> None:
    assert inspect.signature(Client.spawn).return_annotation == "ComputeHandle"
    assert inspect.signature(AsyncClient.spawn).return_annotation == "AsyncComputeHandle"
