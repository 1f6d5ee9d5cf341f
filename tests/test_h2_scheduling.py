"""Pins what ``service.h2_scheduling`` relies on in Hypercorn, and that ``RoundRobin`` keeps the
``priority.PriorityTree`` contract Hypercorn's HTTP/2 connection is written against.

If a Hypercorn release renames the connection's ``priority`` attribute, or stops making its
connections from the name ``hypercorn.protocol.H2Protocol``, the first test fails, and the
release stays out of ``pyproject.toml``'s bounds until the adapter follows it. The HTTP/2
behaviour itself, through a served process, is ``tests/test_http2.py``'s.
"""

from __future__ import annotations

import hypercorn.protocol
import priority
import pytest
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config

from service.h2_scheduling import RoundRobin, send_streams_in_turn


async def _nothing(_: object) -> None:
    return None


def http2_connection() -> hypercorn.protocol.ProtocolWrapper:
    """A connection as Hypercorn makes one when TLS negotiated HTTP/2 (it is made at once)."""
    return hypercorn.protocol.ProtocolWrapper(
        None,  # type: ignore[arg-type]  # the app, never called here
        Config(),
        WorkerContext(None),
        None,  # type: ignore[arg-type]  # the task group, used only once requests come
        None,  # type: ignore[arg-type]
        True,
        None,
        None,
        _nothing,
        alpn_protocol="h2",
    )


async def test_hypercorn_makes_its_http2_connections_from_the_name_the_adapter_replaces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert isinstance(http2_connection().protocol.priority, priority.PriorityTree), "Hypercorn's own"
    monkeypatch.setattr(hypercorn.protocol, "H2Protocol", hypercorn.protocol.H2Protocol)  # undone after
    send_streams_in_turn()
    assert isinstance(http2_connection().protocol.priority, RoundRobin)


def test_streams_with_data_are_sent_in_turn_and_blocked_ones_are_skipped() -> None:
    streams = RoundRobin()
    for stream_id in (1, 3, 5):
        streams.insert_stream(stream_id)
    assert [next(streams) for _ in range(6)] == [1, 3, 5, 1, 3, 5]
    streams.block(3)
    assert [next(streams) for _ in range(4)] == [1, 5, 1, 5]
    streams.unblock(3)
    streams.unblock(5)  # already waiting: keeps its turn
    assert [next(streams) for _ in range(3)] == [1, 5, 3]
    streams.remove_stream(1)
    assert [next(streams) for _ in range(2)] == [5, 3]


@pytest.mark.parametrize("tree", [priority.PriorityTree, RoundRobin], ids=["PriorityTree", "RoundRobin"])
def test_round_robin_raises_what_hypercorn_catches_as_the_priority_tree_does(tree: type) -> None:
    streams = tree()
    with pytest.raises(priority.DeadlockError):
        next(streams)
    streams.insert_stream(1)
    streams.insert_stream(3)
    streams.block(1)
    streams.block(3)
    with pytest.raises(priority.DeadlockError):
        next(streams)
    streams.unblock(3)
    assert next(streams) == 3
    with pytest.raises(priority.DuplicateStreamError):
        streams.insert_stream(3)
    streams.remove_stream(3)
    for unknown in (
        lambda: streams.block(3),
        lambda: streams.unblock(3),
        lambda: streams.remove_stream(3),
        lambda: streams.reprioritize(7, weight=32),
    ):
        with pytest.raises(priority.MissingStreamError):
            unknown()
